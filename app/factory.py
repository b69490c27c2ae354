"""`create_app`: the FastAPI app with the REST API and the Gradio UI mounted at `/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import gradio as gr
from fastapi import FastAPI

from app.api import (
    admin_routes,
    chat_routes,
    download_routes,
    fallback_routes,
    health_routes,
    media_routes,
    memory_routes,
    ops_routes,
    soul_routes,
)
from app.api.errors import install_error_handlers
from app.composition import Services, build_services
from app.observability.logging import configure_logging
from app.observability.middleware import HttpMetricsMiddleware, RequestIdMiddleware
from app.security.cors import add_cors
from app.security.exposure import exposure_check
from app.security.limits import BodySizeLimitMiddleware
from app.security.login_throttle import LoginThrottleMiddleware
from app.ui.blocks import build_ui
from app.ui.page_script import PAGE_CSS, PAGE_JS
from config.settings import Settings

LOGIN_MESSAGE = (
    "ИКАР: войдите. После {n} неверных паролей вход блокируется на время. / "
    "IKAR: please sign in. After {n} wrong passwords, signing in is blocked for a while."
)


def create_app(
    settings: Settings, services: Services | None = None, share: bool = False
) -> FastAPI:
    """Build the app. Pass `services` to share an object graph (tests); else it is built here.

    Refuses (ExposureError) to serve a shared link or a non-loopback address without user
    accounts: a companion's conversations are private.
    """
    services = services or build_services(settings)
    exposure_check(settings.host, share, services.auth.users_configured())
    configure_logging(
        settings.log_level,
        [s for s in (settings.admin_token,) if s is not None],
        buffer=services.log_buffer,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.start_background()
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="IKAR",
        version="0.1.0",
        description="Local-first AI companion: chat, soul, memory, media. REST API.",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)  # the one REST error handler, for every IkarError

    app.include_router(health_routes.router)
    app.include_router(ops_routes.router)
    app.include_router(chat_routes.router)
    app.include_router(soul_routes.router)
    app.include_router(memory_routes.router)
    app.include_router(media_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(download_routes.router)
    app.include_router(fallback_routes.router)  # last: what no route above matched

    blocks = build_ui(services)
    blocks.queue(default_concurrency_limit=4)
    uses_accounts = services.auth.users_configured()
    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        footer_links=["api"],
        show_error=False,
        allowed_paths=[str(settings.resolved_cache_dir / "artifacts")],
        auth=services.auth.gradio_auth if uses_accounts else None,
        auth_message=LOGIN_MESSAGE.format(n=settings.login_lockout_after)
        if uses_accounts
        else None,
        max_file_size=settings.max_upload_bytes,
        js=PAGE_JS,
        css=PAGE_CSS,
    )
    # gradio checks that every file input names a file uploaded to its upload folder (and
    # every file output one the app may serve) only once it "has launched"; mounting never
    # sets that, which left any server path readable through a raw queue call. Turn the
    # check on; the handlers check again (app/ui/uploads.py).
    blocks.has_launched = True
    # The last middleware added runs first:
    # request id -> metrics -> CORS -> body limit -> login throttle -> app.
    app.add_middleware(LoginThrottleMiddleware, throttle=services.login_throttle)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        path_limits=[("/gradio_api/upload", settings.max_upload_bytes + (1 << 20))],
    )
    add_cors(app, settings.cors_origins)
    app.add_middleware(HttpMetricsMiddleware, metrics=services.metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
