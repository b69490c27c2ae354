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

    The label is read after the routers ran: the template of the route that handled the
    request (`/api/chats/{chat_id}`), with the prefixes of any mounts (`/ui/...`); a mount
    whose inner app has no routes gives `/static/{path}`; a 404 gives `<unmatched>`. So
    scanners requesting random paths cannot create unbounded label values.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, exclude: Sequence[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.exclude = frozenset(exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exclude:
            await self.app(scope, receive, send)
            return
        pristine = dict(scope)  # routers mutate the scope; keep what they saw
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
            route = route_template(scope, pristine)
            self.metrics.observe_http(method, route, status, time.perf_counter() - started)


def route_template(scope: Scope, pristine: Scope) -> str:
    """The template of the route that handled `scope`; call after the app ran.

    `pristine` is a copy of the scope taken before the app ran. FastAPI routers record an
    endpoint route in `scope["route"]`, mounts extend `root_path` by their prefix, and
    routes included with a prefix keep their own path without it (FastAPI >= 0.16x keeps
    the full template in its per-request route context, which we read when present).
    Plain Starlette routes and mounts leave no trace in FastAPI >= 0.16x, so for those the
    outer routes are matched again against the pristine scope.
    """
    route: Any = scope.get("route")
    if route is not None and not isinstance(route, Mount):
        before = str(pristine.get("root_path", ""))
        after = str(scope.get("root_path", ""))
        mounted = after[len(before) :] if after.startswith(before) else ""
        fastapi_scope: Any = scope.get("fastapi")
        context: Any = (
            fastapi_scope.get("effective_route_context")
            if isinstance(fastapi_scope, dict)
            else None
        )
        template = getattr(context, "path_format", None) or getattr(route, "path_format", None)
        if isinstance(template, str):
            return mounted + template
    app: Any = pristine.get("app")
    routes = getattr(getattr(app, "router", None), "routes", None) or []
    return _match(routes, pristine, "", 0) or UNMATCHED_ROUTE


def _match(routes: Sequence[BaseRoute], scope: Scope, prefix: str, depth: int) -> str | None:
    partial: str | None = None
    for route in routes:
        template: str | None
        if isinstance(route, Mount):
            match, child = route.matches(scope)
            if match is Match.NONE:
                continue
            template = prefix + route.path  # its path_format ends in "/{path}"
            inner = None
            if depth < _MAX_MOUNT_DEPTH:
                inner = _match(route.routes, {**scope, **child}, template, depth + 1)
            template = inner or template.rstrip("/") + "/{path}"
        else:
            path_format = getattr(route, "path_format", None)
            if not isinstance(path_format, str):  # e.g. FastAPI's included-router wrapper
                continue
            match, _ = route.matches(scope)
            if match is Match.NONE:
                continue
            template = prefix + path_format
        if match is Match.FULL:
            return template
        partial = partial or template  # e.g. wrong method: same template, 405
    return partial
