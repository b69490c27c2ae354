"""Request rate limits and request body size limits.

`RateLimiter` is a per-key token bucket: `burst` requests at once, refilled at `rate` per
`per_s` seconds. It protects the expensive endpoints (chat turns, image generation, login)
from a runaway script. `BodySizeLimitMiddleware` refuses oversized uploads before they fill
memory or disk: it trusts neither Content-Length (may be absent with chunked encoding, or lie)
nor the app to stop reading, and counts bytes as they stream through.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ErrorHTTPException, error_body
from app.security.admin_gate import client_key
from app.security.errors import RateLimitedError, SecurityError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Thread-safe token bucket per key (client IP, user id, ...).

    Memory is bounded: buckets that have refilled completely carry no information and are
    dropped when the table grows past `max_keys`.
    """

    def __init__(
        self,
        rate: float,
        per_s: float = 1.0,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if rate <= 0 or per_s <= 0:
            raise ValueError("rate and per_s must be positive")
        self._refill_per_s = rate / per_s
        self._capacity = float(burst if burst is not None else max(1, int(rate)))
        if self._capacity < 1:
            raise ValueError("burst must be >= 1")
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key: str, cost: float = 1.0) -> None:
        """Spend `cost` tokens for `key`, or raise RateLimitedError(retry_after)."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(self._capacity, now)
            else:
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._refill_per_s)
                bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return
            missing = cost - bucket.tokens
        raise RateLimitedError(missing / self._refill_per_s)

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self._refill_per_s >= self._capacity
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:  # under attack from many keys: forget half
            for key in list(self._buckets)[: len(self._buckets) // 2]:
                del self._buckets[key]


def rate_limited(
    limiter: RateLimiter, key: Callable[[HTTPConnection], str] = client_key
) -> Callable[[HTTPConnection], Awaitable[None]]:
    """A FastAPI dependency: 429 with Retry-After when `key(request)` is over its budget."""

    async def within_rate_limit(conn: HTTPConnection) -> None:
        try:
            limiter.check(key(conn))
        except SecurityError as error:
            raise ErrorHTTPException(error, conn.headers.get("accept-language")) from None

    return within_rate_limit


class PayloadTooLargeError(SecurityError):
    """A request body over the size limit (answered by the middleware, before the app)."""

    code = "payload_too_large"
    status_code = 413
    key = "security.payload_too_large"


class BadContentLengthError(SecurityError):
    """A Content-Length header that is not a non-negative number."""

    code = "bad_request"
    status_code = 400
    key = "security.bad_length"


class BodyTooLargeError(HTTPException):
    """Raised from `receive` when the body passes the limit.

    An HTTPException so that FastAPI's body parsing re-raises it instead of reporting a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail="payload_too_large")
        self.limit = limit


class BodySizeLimitMiddleware:
    """Pure ASGI middleware answering 413 JSON for request bodies over `max_bytes`.

    `path_limits` gives other limits to path prefixes, first match wins, e.g.
    `[("/api/media/upload", 50 * 2**20)]`; the default applies elsewhere.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        path_limits: Sequence[tuple[str, int]] = (),
    ) -> None:
        if max_bytes < 0 or any(limit < 0 for _, limit in path_limits):
            raise ValueError("limits must be >= 0")
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = tuple(path_limits)

    def limit_for(self, path: str) -> int:
        """The byte limit that applies to `path`."""
        for prefix, limit in self.path_limits:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                error = BadContentLengthError()
                await _send_json(send, 400, error_body(error, headers.get("accept-language")))
                return
            if length > limit:
                await self._reject(scope, send, headers)
                return
        await _LimitedCall(self, scope, receive, send, limit, headers).run()

    async def _reject(self, scope: Scope, send: Send, headers: Headers) -> None:
        body = error_body(PayloadTooLargeError(), headers.get("accept-language"))
        await _send_json(send, 413, body, close=True)


class _LimitedCall:
    """One request through the limiter: counts bytes, swaps the app's reply for a 413."""

    def __init__(
        self,
        owner: BodySizeLimitMiddleware,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        headers: Headers,
    ) -> None:
        self.owner, self.scope, self.receive, self.send = owner, scope, receive, send
        self.limit, self.headers = limit, headers
        self.received = 0
        self.exceeded = False
        self.app_started = False  # the app's own response went out (too late for a 413)
        self.rejected = False  # our 413 went out

    async def run(self) -> None:
        try:
            await self.owner.app(self.scope, self.counting_receive, self.guarded_send)
        except Exception:
            # The app may wrap our error (task groups, a framework turning it into a 400 or
            # 500); once the limit was hit, the only answer is the 413.
            if not self.exceeded or self.app_started:
                raise
        if self.exceeded and not self.app_started and not self.rejected:
            await self.reject()

    async def reject(self) -> None:
        self.rejected = True
        await self.owner._reject(self.scope, self.send, self.headers)

    async def counting_receive(self) -> Message:
        if self.exceeded:
            raise BodyTooLargeError(self.limit)
        msg = await self.receive()
        if msg["type"] == "http.request":
            self.received += len(msg.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise BodyTooLargeError(self.limit)
        return msg

    async def guarded_send(self, msg: Message) -> None:
        if self.exceeded and not self.app_started:
            # Whatever the app answers after the limit was hit (often a 400 or 500), the
            # client gets the 413 instead.
            if not self.rejected:
                await self.reject()
            return
        if msg["type"] == "http.response.start":
            self.app_started = True
        await self.send(msg)


async def _send_json(send: Send, status: int, body: dict[str, Any], close: bool = False) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:  # the rest of the body is never read; tell the client not to reuse the socket
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
