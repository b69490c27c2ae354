"""`create_app`: the FastAPI app with the REST API and the Gradio UI mounted at `/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import gradio as gr
from fastapi import FastAPI

from app.api import chat_routes, health_routes
from app.api.errors import install_error_handlers
from app.composition import Services, build_services
from app.ui.blocks import build_ui
from config.settings import Settings


def create_app(
    settings: Settings, services: Services | None = None, share: bool = False
) -> FastAPI:
    """Build the app. Pass `services` to share an object graph (tests); else it is built here.

    `share` says the app will also be reachable through a public tunnel.
    """
    del share  # the exposure check (accounts required when shared) uses it
    services = services or build_services(settings)

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
    install_error_handlers(app)
    app.include_router(health_routes.router)
    app.include_router(chat_routes.router)

    blocks = build_ui(services)
    blocks.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        footer_links=["api"],
        show_error=False,
        allowed_paths=[str(settings.resolved_cache_dir)],
    )
