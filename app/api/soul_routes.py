"""Personas (Character Card V2/V3 import/export) and the soul's state, history and actions."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.deps import authenticated, get_services, resolve_user
from app.api.downloads import attachment
from app.api.uploads import read_upload
from app.composition import Services
from app.soul import PersonaSummary, SoulAction, SoulHistoryPoint
from config.validation import CleanInput

router = APIRouter(prefix="/api", tags=["soul"], dependencies=[Depends(authenticated)])


class PersonaList(BaseModel):
    items: list[PersonaSummary]


class PersonaCreated(BaseModel):
    id: str
    name: str
    spec: str


class SoulActionRequest(CleanInput):
    persona: str = Field(max_length=128)
    user_id: str | None = Field(default=None, max_length=64)
    action: SoulAction


class SoulHistory(BaseModel):
    persona: str
    items: list[SoulHistoryPoint]


@router.get("/personas", response_model=PersonaList)
async def list_personas(
    request: Request, services: Services = Depends(get_services)
) -> PersonaList:
    """The personas the caller may use: shipped, shared and their own imports."""
    uid = resolve_user(request, None)
    return PersonaList(items=await services.soul.list_personas_async(uid))


@router.post("/personas", response_model=PersonaCreated, status_code=201)
async def import_persona(
    request: Request,
    file: UploadFile = File(description="Character Card V2/V3: JSON, or PNG with the card"),
    services: Services = Depends(get_services),
) -> Any:
    uid = resolve_user(request, None)
    data = await read_upload(file, services.settings.max_upload_bytes)
    persona = await services.soul.import_card_async(data, file.filename, owner_id=uid)
    return PersonaCreated(id=persona.id, name=persona.name, spec=persona.card.spec)


@router.get("/personas/{persona_id}/export")
async def export_persona(
    persona_id: str,
    request: Request,
    format: Literal["json", "png"] = Query(default="json"),
    services: Services = Depends(get_services),
) -> Response:
    uid = resolve_user(request, None)
    data = await services.soul.export_card_async(persona_id, format, uid)
    name = await services.soul.export_filename_async(persona_id, format, uid)
    media = "application/json" if format == "json" else "image/png"
    return Response(data, media_type=media, headers=attachment(name))


@router.get("/soul")
async def get_soul(
    request: Request,
    persona: str = Query(max_length=128),
    user_id: str | None = Query(default=None, max_length=64),
    services: Services = Depends(get_services),
) -> dict[str, Any]:
    uid = resolve_user(request, user_id)
    state = await services.soul.get_state_async(uid, persona)
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
    items = await services.soul.history_async(uid, persona, limit)
    return SoulHistory(persona=persona, items=items)


@router.post("/soul/actions")
async def soul_action(
    body: SoulActionRequest, request: Request, services: Services = Depends(get_services)
) -> dict[str, Any]:
    uid = resolve_user(request, body.user_id)
    state = await services.soul.apply_action_async(uid, body.persona, body.action)
    return {"persona": body.persona, "user_id": uid, "state": state.model_dump(mode="json")}
