"""The one admin check, shared by the REST routes and the Gradio admin tab.

Why a token and not a user flag: the admin surface (logs, backups, model reloads) must stay
closed on a fresh install where nobody configured anything, so "no token" means "admin
disabled", never "admin open". Wrong guesses from one client are locked out for a while, so a
token cannot be brute-forced over the network.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import SecretStr
from starlette.requests import HTTPConnection

from app.errors import ErrorHTTPException
from app.security.errors import (
    AdminDisabledError,
    AdminLockedOutError,
    AdminUnauthorizedError,
    SecurityError,
)
from app.security.lockouts import Lockouts

ADMIN_TOKEN_HEADER = "X-Admin-Token"  # noqa: S105 (a header name, not a secret)
ADMIN_TOKEN_QUERY = "token"  # noqa: S105 (a parameter name)
MIN_TOKEN_LENGTH = 16


class AdminGate:
    """Checks admin tokens in constant time and locks out clients that keep guessing.

    `client` is the key for lockout (the client IP). Forwarded headers are trusted only from
    the proxies listed in IKAR_TRUSTED_PROXIES (never by default: anyone could send a new
    `X-Forwarded-For` with each guess); behind a reverse proxy, list it there, or every
    request shares the proxy's IP and a lockout blocks everyone.
    """

    def __init__(
        self,
        token: SecretStr | None,
        lockout_after: int = 5,
        lockout_window_s: float = 300.0,
        lockout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_tracked_clients: int = 10_000,
    ) -> None:
        secret = token.get_secret_value() if token is not None else ""
        if secret.strip() == "":
            self._digest: bytes | None = None  # an empty env var means "not configured"
        else:
            if len(secret) < MIN_TOKEN_LENGTH:
                raise ValueError(
                    f"admin token must be at least {MIN_TOKEN_LENGTH} characters (generate "
                    "one: python -c 'import secrets; print(secrets.token_urlsafe())')"
                )
            self._digest = hashlib.sha256(secret.encode("utf-8")).digest()
        self._lockouts = Lockouts(
            lockout_after, lockout_window_s, lockout_s, clock, max_tracked_clients
        )

    @property
    def enabled(self) -> bool:
        """Whether an admin token is configured."""
        return self._digest is not None

    def check(self) -> None:
        """Raise `AdminDisabledError` when no token is configured."""
        if self._digest is None:
            raise AdminDisabledError("admin token is not configured")

    def verify(self, presented: str | None, client: str) -> None:
        """Accept `presented` as the admin token for `client`, or raise.

        Raises AdminDisabledError (no token configured), AdminLockedOutError (too many recent
        failures from this client, even if the token is now right), AdminUnauthorizedError
        (missing or wrong). Only a presented-but-wrong token counts as a failure, so a page
        that polls before the user typed the token does not lock the admin out.
        """
        self.check()
        assert self._digest is not None
        locked = self._lockouts.remaining(client)
        if locked > 0:
            raise AdminLockedOutError(locked)
        if not presented:
            raise AdminUnauthorizedError("admin token missing")
        # Comparing fixed-size digests keeps the comparison constant-time even when the
        # lengths differ (compare_digest on raw strings would return early on length).
        candidate = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        if hmac.compare_digest(candidate, self._digest):
            self._lockouts.succeed(client)
            return
        self._lockouts.fail(client)
        raise AdminUnauthorizedError("admin token wrong")


class _Lookup(Protocol):
    def get(self, key: str, /) -> Any: ...


class RequestLike(Protocol):
    """What the token helpers read: a Starlette Request/WebSocket, or a Gradio `gr.Request`
    (whose headers may be a plain dict with lower-case keys once queued)."""

    @property
    def headers(self) -> _Lookup: ...

    @property
    def query_params(self) -> _Lookup: ...

    @property
    def client(self) -> Any: ...


def presented_admin_token(request: RequestLike) -> str | None:
    """The token from `Authorization: Bearer`, `X-Admin-Token` or `?token=`, in that order."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = str(authorization).partition(" ")
        if scheme.lower() == "bearer" and value:
            return value
    header = request.headers.get(ADMIN_TOKEN_HEADER.lower())
    if header:
        return str(header)
    query = request.query_params.get(ADMIN_TOKEN_QUERY)
    return str(query) if query else None


def client_key(request: RequestLike) -> str:
    """The client's address, the key for lockouts and rate limits."""
    client = request.client
    host = getattr(client, "host", None) if client is not None else None
    return str(host) if host else "unknown"


def verify_admin_request(
    gate: AdminGate, request: RequestLike | None, typed_token: str | None = None
) -> None:
    """The check for Gradio admin-tab callbacks: `typed_token` (from a textbox) if given,
    else a token carried by the page's request. Raises the same errors as `verify`."""
    presented = typed_token or (presented_admin_token(request) if request is not None else None)
    gate.verify(presented, client_key(request) if request is not None else "unknown")


def require_admin(gate: AdminGate) -> Callable[[HTTPConnection], Awaitable[None]]:
    """A FastAPI dependency that admits only requests carrying the admin token.

    Use as `dependencies=[Depends(require_admin(gate))]` on the admin router (REST) and on
    the routes the admin UI calls; Gradio callbacks call `gate.verify(...)` directly.
    Errors become 403 (disabled), 401 (missing/wrong), 429 with Retry-After (locked out).
    """

    async def admin_required(conn: HTTPConnection) -> None:
        try:
            gate.verify(presented_admin_token(conn), client_key(conn))
        except SecurityError as error:
            raise ErrorHTTPException(error, conn.headers.get("accept-language")) from None

    return admin_required
