"""`/api/admin/*`: the admin service over HTTP, behind the admin token, nothing more.

Every route depends on `require_admin(services.admin_gate)`: with no IKAR_ADMIN_TOKEN the
whole surface answers 403 `admin_disabled`, never open.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from app.api.deps import get_services
from app.composition import Services
from app.security.admin_gate import require_admin
from app.services.admin import (
    ModelInfo,
    PersonaDefaults,
    PromptTemplate,
    PromptTemplateInfo,
    RestoreResult,
    UserSummary,
)
from config.validation import CleanInput

P = ParamSpec("P")
T = TypeVar("T")
_CHUNK = 1 << 20


async def admin_required(request: Request) -> None:
    """`require_admin` over this app's gate (read from the app, so one router serves any app)."""
    await require_admin(get_services(request).admin_gate)(request)


router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(admin_required)])


async def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking admin action in a thread (the admin service is synchronous); its
    errors are answered by the one REST handler."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class UserList(BaseModel):
    items: list[UserSummary]


class PromptList(BaseModel):
    items: list[PromptTemplateInfo]


class PromptBody(CleanInput):
    text: str = Field(max_length=200_000)


class ModelList(BaseModel):
    active: str
    items: list[ModelInfo]


class PersonaBody(CleanInput):
    persona: str = Field(min_length=1, max_length=128)


class ConsolidationBody(CleanInput):
    action: Literal["status", "start", "cancel"] = "status"
    user_id: str | None = Field(default=None, max_length=64)


# -- users ---------------------------------------------------------------------------------
@router.get("/users", response_model=UserList)
async def list_users(services: Services = Depends(get_services)) -> UserList:
    return UserList(items=await call(services.admin.list_users))


@router.get("/users/{user_id}/export")
async def export_user(user_id: str, services: Services = Depends(get_services)) -> Any:
    return await call(services.admin.export_user, user_id)


@router.delete("/users/{user_id}")
async def delete_user(user_id: str, services: Services = Depends(get_services)) -> Any:
    return {"deleted": user_id, "counts": await call(services.admin.delete_user, user_id)}


# -- prompt templates and persona defaults -------------------------------------------------
@router.get("/prompts", response_model=PromptList)
async def list_prompts(services: Services = Depends(get_services)) -> PromptList:
    return PromptList(items=await call(services.admin.list_prompts))


@router.get("/prompts/{name:path}", response_model=PromptTemplate)
async def read_prompt(name: str, services: Services = Depends(get_services)) -> PromptTemplate:
    return await call(services.admin.read_prompt, name)


@router.put("/prompts/{name:path}", response_model=PromptTemplate)
async def save_prompt(
    name: str, body: PromptBody, services: Services = Depends(get_services)
) -> PromptTemplate:
    return await call(services.admin.save_prompt, name, body.text)


@router.get("/persona", response_model=PersonaDefaults)
async def persona_defaults(services: Services = Depends(get_services)) -> PersonaDefaults:
    return await call(services.admin.persona_defaults)


@router.put("/persona", response_model=PersonaDefaults)
async def set_default_persona(
    body: PersonaBody, services: Services = Depends(get_services)
) -> PersonaDefaults:
    return await call(services.admin.set_default_persona, body.persona)


# -- models --------------------------------------------------------------------------------
@router.get("/models", response_model=ModelList)
async def list_models(services: Services = Depends(get_services)) -> ModelList:
    items = await call(services.admin.list_models)
    return ModelList(active=services.models.active_name, items=items)


@router.post("/models/{name}/load", response_model=ModelInfo)
async def load_model(name: str, services: Services = Depends(get_services)) -> ModelInfo:
    return await call(services.admin.load_model, name)


@router.post("/models/{name}/unload", response_model=ModelInfo)
async def unload_model(name: str, services: Services = Depends(get_services)) -> ModelInfo:
    return await call(services.admin.unload_model, name)


@router.post("/models/{name}/default", response_model=ModelInfo)
async def set_default_model(name: str, services: Services = Depends(get_services)) -> ModelInfo:
    return await call(services.admin.set_default_model, name)


# -- jobs and memory -----------------------------------------------------------------------
@router.get("/queues")
async def queues(services: Services = Depends(get_services)) -> Any:
    return await call(services.admin.queues)


@router.post("/queues/{job_id}/cancel")
async def cancel_job(job_id: str, services: Services = Depends(get_services)) -> Any:
    return {"job_id": job_id, "cancelled": await call(services.admin.cancel_job, job_id)}


@router.get("/consolidation")
async def consolidation_status(services: Services = Depends(get_services)) -> Any:
    return await call(services.admin.consolidation, "status")


@router.post("/consolidation")
async def consolidation(body: ConsolidationBody, services: Services = Depends(get_services)) -> Any:
    return await call(services.admin.consolidation, body.action, body.user_id)


# -- observability -------------------------------------------------------------------------
@router.get("/metrics")
async def metrics(services: Services = Depends(get_services)) -> Any:
    return await call(services.admin.metrics_summary)


@router.get("/logs")
async def logs(
    limit: int = Query(200, ge=1, le=2000),
    level: str | None = Query(None, max_length=10),
    logger: str | None = Query(None, max_length=200),
    text: str | None = Query(None, max_length=200),
    request_id: str | None = Query(None, max_length=100),
    services: Services = Depends(get_services),
) -> Any:
    items = await call(services.admin.log_tail, limit, level, logger, text, request_id)
    return {"items": items}


@router.get("/config")
async def config(services: Services = Depends(get_services)) -> Any:
    return await call(services.admin.effective_config)


# -- backup and restore --------------------------------------------------------------------
@router.get("/backup")
async def backup(services: Services = Depends(get_services)) -> FileResponse:
    """A consistent SQLite snapshot as a download (the file is removed once sent)."""
    path = await call(services.admin.create_backup)
    return FileResponse(
        path,
        media_type="application/vnd.sqlite3",
        filename=path.name,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.post("/restore", response_model=RestoreResult)
async def restore(
    file: UploadFile = File(description="A database file made by GET /api/admin/backup"),
    services: Services = Depends(get_services),
) -> RestoreResult:
    """Validate the upload, back up the current database, then restore the upload into it."""
    folder = services.admin.backups_dir
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".sqlite3", dir=folder)
    upload = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            while chunk := await file.read(_CHUNK):
                handle.write(chunk)
        return await call(services.admin.restore, upload)
    finally:
        for leftover in (upload, *upload.parent.glob(upload.name + "-*")):
            leftover.unlink(missing_ok=True)
