"""GET /health: overall status and each component's state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app.api.deps import get_services
from app.composition import Services

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(services: Services = Depends(get_services)) -> JSONResponse:
    """`status` is "ok", "degraded" (something optional failed or is still loading) or
    "failed" (the database is down); `components` holds each part's state."""
    report: dict[str, Any] = await services.health.report()
    code = 503 if report["status"] == "failed" else 200
    return JSONResponse(report, status_code=code)
