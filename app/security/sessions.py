"""Signed UI sessions: the browser carries its session, the server vouches for the user id.

The Gradio session travels through the client with every event, so a caller of the Gradio API
could send someone else's id. The server signs the session it hands out on page load; every
callback reads the user through `user_of`, which refuses a session it did not sign, one signed
for another login (with accounts, the login is the identity), and one past its expiry. Pages
re-sign on every load, so the expiry only ends sessions that nobody reopened.

The secret lives in the data folder (`ui-session.key`, mode 0600), so after a restart the same
browser is the same user, with its conversations and language. `gr.BrowserState` encrypts
what it keeps in localStorage with a key that is part of the page, so it gets a key derived
from the secret (never the secret itself): stable across restarts, useless for signing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 7 * 24 * 3600.0
_SECRET_BYTES = 32


class SessionInvalidError(ValueError):
    """A session the server did not sign, signed for another login, or expired."""


class SessionSigner:
    """HMAC-SHA256 over (user id, login, expiry) with the install's secret."""

    def __init__(
        self,
        secret: bytes | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret or secrets.token_bytes(_SECRET_BYTES)
        self.ttl_s = ttl_s
        self.clock = clock

    @property
    def browser_secret(self) -> str:
        """The key for `gr.BrowserState` (public: it is sent to the page)."""
        return hmac.new(self._secret, b"ikar browser state", hashlib.sha256).hexdigest()[:32]

    def _mac(self, user_id: str, login: str, expires: int) -> str:
        message = "\0".join(("v2", user_id, login, str(expires))).encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, session: dict[str, Any], login: str | None = None) -> dict[str, Any]:
        """`session` vouched for: its `user_id`, for `login` (None: no accounts), until the
        expiry."""
        user_id = str(session["user_id"])
        expires = int(self.clock() + self.ttl_s)
        return {
            **session,
            "login": login or "",
            "exp": expires,
            "sig": self._mac(user_id, login or "", expires),
        }

    def user_of(self, session: dict[str, Any] | None, login: str | None = None) -> str:
        """The user id of a session this server signed for `login` and that has not expired;
        else `SessionInvalidError`."""
        session = session or {}
        user_id = str(session.get("user_id") or "")
        signed_login = str(session.get("login") or "")
        sig = str(session.get("sig") or "")
        try:
            expires = int(session.get("exp") or 0)
        except (TypeError, ValueError):
            expires = 0
        if not user_id or not hmac.compare_digest(sig, self._mac(user_id, signed_login, expires)):
            raise SessionInvalidError("session not signed by this server")
        if not hmac.compare_digest(signed_login, login or ""):
            raise SessionInvalidError("session signed for another login")
        if expires <= self.clock():
            raise SessionInvalidError("session expired")
        return user_id


def load_secret(path: Path) -> bytes:
    """The install's session secret, made on first use (mode 0600, written atomically).

    A file readable by others is made private again (and logged); a broken one is replaced
    (sessions then start afresh, as after the old per-process secret).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return _create(path)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); made private", path.name, mode)
        path.chmod(0o600)
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        secret = b""
    if len(secret) < _SECRET_BYTES:
        log.warning("%s is damaged; a new one is made (browsers sign in afresh)", path.name)
        path.unlink(missing_ok=True)
        return _create(path)
    return secret


def _create(path: Path) -> bytes:
    secret = secrets.token_bytes(_SECRET_BYTES)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret.hex())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # never replaces a secret another process made meanwhile
        except FileExistsError:
            return load_secret(path)
    finally:
        tmp.unlink(missing_ok=True)
    return secret
