"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import get_services
from app.composition import Services
from app.security.admin_gate import verify_admin_request

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(services: Services = Depends(get_services)) -> JSONResponse:
    """Ready to serve chat: the database answers and the model is not failed."""
    report = await services.health.report()
    llm_state = report["components"]["llm"]["state"]
    is_ready = report["components"]["db"]["state"] == "ok" and llm_state != "failed"
    return JSONResponse(
        {"status": "ready" if is_ready else "not_ready", "llm": llm_state},
        status_code=200 if is_ready else 503,
    )


@router.get("/metrics")
async def metrics(request: Request, services: Services = Depends(get_services)) -> Response:
    """Prometheus metrics. Open on a local single-user install; admin-only with accounts."""
    if services.auth.users_configured():
        verify_admin_request(services.admin_gate, request)
    await services.metrics_sync.sync_async()
    body, content_type = services.metrics.render(request.headers.get("accept"))
    return Response(body, media_type=content_type)
