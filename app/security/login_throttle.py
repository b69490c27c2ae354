"""Throttle the Gradio login: a client (or an account) that keeps guessing is locked out.

Why a middleware and not the `auth=` callable: gradio calls that with the name and password
only, and answers any failure with its own 400. The middleware sees the client address (as
uvicorn resolved it: forwarded headers count only from IKAR_TRUSTED_PROXIES) and the name,
refuses a locked-out login before any password is checked (429, Retry-After, a bilingual
body), and counts gradio's answer: 200 clears, 400 is one more failure.

Two keys: the client address (locked after a few failures, so one machine cannot guess on),
and the account name (locked after more, so guesses spread over many addresses stop too).
The second lets a stranger lock an account for a while; a companion app with a handful of
accounts prefers that to an open guessing window (docs/security.md).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body
from app.security.errors import RetryLaterError
from app.security.lockouts import Lockouts

LOGIN_PATHS = frozenset({"/login", "/login/"})
_MAX_FORM_BYTES = 64 * 1024


class LoginLockedOutError(RetryLaterError):
    """Too many wrong passwords from this client, or for this account, recently."""

    code = "login_locked_out"
    key = "security.login_locked_out"


class LoginThrottle:
    """The two lockouts of the login: per client address and per account name."""

    def __init__(self, by_client: Lockouts, by_account: Lockouts) -> None:
        self.by_client = by_client
        self.by_account = by_account

    @property
    def clock(self) -> object:
        return self.by_client.clock

    @clock.setter
    def clock(self, value: object) -> None:  # tests move time
        self.by_client.clock = self.by_account.clock = value  # type: ignore[assignment]

    def check(self, client: str, account: str) -> None:
        """Raise `LoginLockedOutError` while either key is locked out."""
        wait = max(self.by_client.remaining(client), self.by_account.remaining(account))
        if wait > 0:
            raise LoginLockedOutError(wait)

    def record(self, client: str, account: str, success: bool) -> None:
        if success:
            self.by_client.succeed(client)
            self.by_account.succeed(account)
        else:
            self.by_client.fail(client)
            self.by_account.fail(account)


class LoginThrottleMiddleware:
    """Pure ASGI around gradio's `POST /login` (the app is mounted at `/`)."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path") not in LOGIN_PATHS
        ):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        form = parse_qs(body.decode("utf-8", "replace")) if not more else {}
        account = (form.get("username") or [""])[0].strip().casefold()
        try:
            self.throttle.check(address, account)
        except LoginLockedOutError as exc:
            await _refuse(exc, Headers(scope=scope).get("accept-language"), send)
            return
        status = 0
        pending = [body]  # what was read, handed on once; then the rest as it comes

        async def replay() -> Message:
            if pending:
                return {"type": "http.request", "body": pending.pop(), "more_body": more}
            return await receive()

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, replay, watch)
        if status in (200, 400):  # gradio: 200 logged in, 400 "Incorrect credentials."
            self.throttle.record(address, account, success=status == 200)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The form, up to 64 KiB (a login form is tiny); `more` when it was longer."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > _MAX_FORM_BYTES:
            return b"".join(chunks), True


async def _refuse(exc: LoginLockedOutError, accept_language: str | None, send: Send) -> None:
    body = error_body(exc, accept_language)
    body["detail"] = body["message"]  # what gradio's login page reads
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in exc.headers().items()),
    ]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
