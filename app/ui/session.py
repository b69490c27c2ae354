"""Who is using this browser tab, and their UI preferences.

Each browser keeps a random user id in localStorage (`gr.BrowserState`), so several browsers
get their own users and history survives a page reload and an app restart. With accounts
configured, the logged-in account is the user instead.

Every callback reads the user through `user_of`, which refuses a session the server did not
sign, one signed for another login, and an expired one (see app/security/sessions.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.context import LocalContext

from app.i18n import accepted_languages, normalize_lang, t
from app.security.sessions import SessionInvalidError, SessionSigner


def user_of(signer: SessionSigner, session: dict[str, Any] | None) -> str:
    """The verified user of a callback's session; a clear UI error when it is forged, was
    signed for another login than the one this request is logged in as, or expired.

    The login comes from the request gradio is serving (`gradio.context`, as gradio's own
    ChatInterface reads it), so no callback has to pass it along.
    """
    try:
        return signer.user_of(session, login=current_login())
    except SessionInvalidError:
        raise gr.Error(t("error.session_invalid", (session or {}).get("lang"))) from None


def current_login() -> str | None:
    """The account name of the request gradio is serving now (None: no accounts)."""
    request = LocalContext.request.get(None)
    username = getattr(request, "username", None) if request is not None else None
    return str(username) if username else None


def browser_language(request: gr.Request | None, default: str) -> str:
    """The UI language of a browser that never chose one: the first of Russian and English
    its Accept-Language header names, else the configured language."""
    headers = getattr(request, "headers", None) if request is not None else None
    accept = headers.get("accept-language") if headers is not None else None
    for tag in accepted_languages(accept):
        if tag[:2] in ("ru", "en"):
            return tag[:2]
    return normalize_lang(default)


def browser_user(
    stored: dict[str, Any] | None,
    request: gr.Request | None,
    signer: SessionSigner,
    account_id: Callable[[str], str | None] | None = None,
    default_lang: str = "ru",
) -> dict[str, Any]:
    """The signed session of this browser tab, made when the page loads. With accounts, the
    logged-in account's id (the id its API token acts for) replaces what the browser stored.
    A browser's first visit gets its own language (`browser_language`); its choice holds."""
    session = {k: v for k, v in (stored or {}).items() if k not in ("sig", "login", "exp")}
    username = getattr(request, "username", None) if request is not None else None
    if username:
        resolved = account_id(str(username)) if account_id else None
        if session.get("user_id") != (resolved or str(username)):
            session.pop("conversation_id", None)
        session["user_id"] = resolved or str(username)
    elif not session.get("user_id"):
        session["user_id"] = "web-" + uuid.uuid4().hex[:16]
    session["lang"] = normalize_lang(session.get("lang") or browser_language(request, default_lang))
    return signer.sign(session, login=str(username) if username else None)
