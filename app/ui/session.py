"""Who is using this browser tab, and their UI preferences.

Each browser keeps a random user id in localStorage (`gr.BrowserState`), so several browsers
get their own users and history survives a page reload and an app restart. With accounts
configured, the logged-in name is the user instead.
"""

from __future__ import annotations

import uuid
from typing import Any

import gradio as gr

from app.i18n import normalize_lang


def browser_user(stored: dict[str, Any] | None, request: gr.Request | None) -> dict[str, Any]:
    session = dict(stored or {})
    username = getattr(request, "username", None) if request is not None else None
    if username:
        session["user_id"] = str(username)
    elif not session.get("user_id"):
        session["user_id"] = "web-" + uuid.uuid4().hex[:16]
    session["lang"] = normalize_lang(session.get("lang"))
    return session
