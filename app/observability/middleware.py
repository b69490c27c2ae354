"""ASGI middleware: request ids and HTTP metrics.

Both are pure ASGI (not BaseHTTPMiddleware) so streaming responses (SSE chat, audio) pass
through untouched and the ContextVar set here is the one the endpoint runs under.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.context import (
    REQUEST_ID_HEADER,
    _request_id,
    new_request_id,
    sanitize_request_id,
)
from app.observability.metrics import Metrics

UNMATCHED_ROUTE = "<unmatched>"
_MAX_MOUNT_DEPTH = 4


class RequestIdMiddleware:
    """Takes a safe `X-Request-ID` from the client or makes one, and sets it for the request.

    The id is in the ContextVar for the endpoint and everything it awaits or runs via
    `asyncio.to_thread`, and is echoed in the response's `X-Request-ID` header.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = sanitize_request_id(incoming) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)


class HttpMetricsMiddleware:
    """Counts requests and latency by method, route *template* and status.

    The label is the matched route's template (`/api/chats/{chat_id}`), the mount prefix for
    mounted apps without routes, or `<unmatched>` for 404s, so scanners requesting random
    paths cannot create unbounded label values.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, exclude: Sequence[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.exclude = frozenset(exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exclude:
            await self.app(scope, receive, send)
            return
        route = route_template(scope)
        method = scope.get("method", "GET")
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.observe_http(method, route, status, time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The template of the route that will handle `scope`, or `<unmatched>`."""
    app: Any = scope.get("app")
    router = getattr(app, "router", None)
    routes = getattr(router, "routes", None) or getattr(app, "routes", None) or []
    return _match(routes, scope, "", 0) or UNMATCHED_ROUTE


def _match(routes: Sequence[BaseRoute], scope: Scope, prefix: str, depth: int) -> str | None:
    partial: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):  # its path_format ends in "/{path}": use the prefix
            template = prefix + route.path
            inner = None
            if depth < _MAX_MOUNT_DEPTH:
                inner = _match(route.routes, {**scope, **child}, template, depth + 1)
            template = inner or template.rstrip("/") + "/{path}"
        else:
            template = prefix + str(getattr(route, "path_format", getattr(route, "path", "")))
        if match is Match.FULL:
            return template
        partial = partial or template  # e.g. wrong method: same template, 405
    return partial
