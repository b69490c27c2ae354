"""Personas (Character Card V2/V3 import/export) and the soul's state, history and actions."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from app.api.deps import get_services, resolve_user
from app.composition import Services
from app.soul import PersonaSummary, SoulAction, SoulError, SoulHistoryPoint
from app.soul.errors import CardError, PersonaNotFoundError, PersonaProtectedError

router = APIRouter(prefix="/api", tags=["soul"])

_STATUS: dict[type[SoulError], int] = {
    CardError: 400,
    PersonaNotFoundError: 404,
    PersonaProtectedError: 409,
}


def soul_error_response(exc: SoulError) -> JSONResponse:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    body = {
        "error": exc.code,
        "message": exc.message_en,
        "messages": {"ru": exc.message_ru, "en": exc.message_en},
    }
    return JSONResponse(body, status_code=status)


class PersonaList(BaseModel):
    items: list[PersonaSummary]


class PersonaCreated(BaseModel):
    id: str
    name: str
    spec: str


class SoulActionRequest(BaseModel):
    persona: str = Field(max_length=128)
    user_id: str | None = Field(default=None, max_length=64)
    action: SoulAction


class SoulHistory(BaseModel):
    persona: str
    items: list[SoulHistoryPoint]


@router.get("/personas", response_model=PersonaList)
async def list_personas(services: Services = Depends(get_services)) -> PersonaList:
    return PersonaList(items=await services.db.run(services.soul.list_personas))


@router.post("/personas", response_model=PersonaCreated, status_code=201)
async def import_persona(
    request: Request,
    file: UploadFile = File(description="Character Card V2/V3: JSON, or PNG with the card"),
    services: Services = Depends(get_services),
) -> Any:
    resolve_user(request, None)
    limit = services.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        return JSONResponse(
            {"error": "file_too_large", "message": f"over {limit} bytes"}, status_code=413
        )
    persona = await services.db.run(services.soul.import_card, data, file.filename)
    return PersonaCreated(id=persona.id, name=persona.name, spec=persona.card.spec)


@router.get("/personas/{persona_id}/export")
async def export_persona(
    persona_id: str,
    format: Literal["json", "png"] = Query(default="json"),
    services: Services = Depends(get_services),
) -> Response:
    data = await services.db.run(services.soul.export_card, persona_id, format)
    name = await services.db.run(services.soul.export_filename, persona_id, format)
    media = "application/json" if format == "json" else "image/png"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/soul")
async def get_soul(
    request: Request,
    persona: str = Query(max_length=128),
    user_id: str | None = Query(default=None, max_length=64),
    services: Services = Depends(get_services),
) -> dict[str, Any]:
    uid = resolve_user(request, user_id)
    state = await services.db.run(services.soul.get_state, uid, persona)
    return {"persona": persona, "user_id": uid, "state": state.model_dump(mode="json")}


@router.get("/soul/history", response_model=SoulHistory)
async def soul_history(
    request: Request,
    persona: str = Query(max_length=128),
    user_id: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=500, ge=1, le=10_000),
    services: Services = Depends(get_services),
) -> SoulHistory:
    uid = resolve_user(request, user_id)
    items = await services.db.run(services.soul.history, uid, persona, limit)
    return SoulHistory(persona=persona, items=items)


@router.post("/soul/actions")
async def soul_action(
    body: SoulActionRequest, request: Request, services: Services = Depends(get_services)
) -> dict[str, Any]:
    uid = resolve_user(request, body.user_id)
    state = await services.db.run(services.soul.apply_action, uid, body.persona, body.action)
    return {"persona": body.persona, "user_id": uid, "state": state.model_dump(mode="json")}
