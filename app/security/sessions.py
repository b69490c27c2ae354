"""Signed UI sessions: the browser carries its session, the server vouches for the user id.

The Gradio session travels through the client with every event, so a caller of the Gradio API
could send someone else's id. The server signs the session it hands out on page load; every
callback reads the user through `user_of`, which refuses a session it did not sign.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any


class SessionInvalidError(ValueError):
    """A session the server did not sign (forged, or from before a restart)."""


class SessionSigner:
    """HMAC-SHA256 over the user id with a per-process secret (pages re-sign on load)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _mac(self, user_id: str) -> str:
        return hmac.new(self._secret, user_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def sign(self, session: dict[str, Any]) -> dict[str, Any]:
        return {**session, "sig": self._mac(str(session["user_id"]))}

    def user_of(self, session: dict[str, Any] | None) -> str:
        session = session or {}
        user_id = str(session.get("user_id") or "")
        sig = str(session.get("sig") or "")
        if not user_id or not hmac.compare_digest(sig, self._mac(user_id)):
            raise SessionInvalidError("session not signed by this server")
        return user_id
