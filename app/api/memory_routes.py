"""Long-term memory: search, CRUD, export; conversation import and export."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.deps import authenticated, get_services, resolve_user
from app.api.downloads import attachment
from app.api.uploads import read_upload
from app.composition import Services
from app.services.conversations import ImportResult
from app.services.errors import NotFound
from config.validation import CleanInput
from memory import MemoryItem, MemoryPatch, MemoryQuery, NewMemory
from memory.profile_types import NewProfileFact, ProfileFact, ProfileFactPatch

router = APIRouter(prefix="/api", tags=["memory"], dependencies=[Depends(authenticated)])

# SQLite integers are 64-bit: a larger id is a client error, not a crash.
MemoryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Memory id")]
FactId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Profile fact id")]


class SearchRequest(CleanInput):
    query: str = Field(min_length=1, max_length=10_000)
    k: int = Field(default=8, ge=1, le=100)
    persona: str | None = Field(default=None, max_length=128)
    mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    user_id: str | None = Field(default=None, max_length=64)


class SearchItem(BaseModel):
    id: int
    text: str
    score: float
    kind: str
    author: str | None = None  # who said it (turns)
    source_message_ids: list[str]
    created_at: float
    pinned: bool = False
    conversation_id: str | None = None
    context_before: list[str] = []
    context_after: list[str] = []


class SearchResponse(BaseModel):
    items: list[SearchItem]


class AddMemoryRequest(CleanInput):
    text: str = Field(min_length=1, max_length=100_000)
    kind: Literal["manual", "fact"] = "manual"
    persona: str | None = Field(default=None, max_length=128)
    importance: float = Field(default=0.7, ge=0.0, le=1.0)
    pinned: bool = False
    user_id: str | None = Field(default=None, max_length=64)


@router.post("/memory/search", response_model=SearchResponse)
async def search(
    body: SearchRequest, request: Request, services: Services = Depends(get_services)
) -> SearchResponse:
    uid = resolve_user(request, body.user_id)
    hits = await services.memory.search_async(
        MemoryQuery(
            user_id=uid, persona_id=body.persona, query=body.query, k=body.k, mode=body.mode
        ),
    )
    return SearchResponse(items=[SearchItem(**h.model_dump()) for h in hits])


@router.post("/memory", response_model=MemoryItem, status_code=201)
async def add(
    body: AddMemoryRequest, request: Request, services: Services = Depends(get_services)
) -> MemoryItem:
    uid = resolve_user(request, body.user_id)
    new = NewMemory(
        user_id=uid,
        persona_id=body.persona,
        text=body.text,
        kind=body.kind,
        importance=body.importance,
        pinned=body.pinned,
    )
    return await services.memory.add_memory_async(new)


@router.get("/memory/export")
async def export_memories(
    request: Request,
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> Response:
    uid = resolve_user(request, user_id)
    data = await services.memory.export_memories_async(uid)
    return Response(
        data,
        media_type="application/json",
        headers=attachment("ikar-memories.json"),
    )


# ----- the profile (core memory): short facts always in the prompt -------------------------
# Declared before /memory/{memory_id}, which would otherwise take "profile" for an id.


class ProfileResponse(BaseModel):
    items: list[ProfileFact]


@router.get("/memory/profile", response_model=ProfileResponse)
async def list_profile(
    request: Request,
    persona: str | None = Query(None, max_length=128),
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> ProfileResponse:
    """The user's profile facts (with `persona`: the user-wide ones and that persona's),
    pinned first, then the newest."""
    uid = resolve_user(request, user_id)
    store = services.memory.profile.store
    items = await asyncio.to_thread(store.list, uid, persona, persona is None)
    return ProfileResponse(items=items)


@router.post("/memory/profile", response_model=ProfileFact, status_code=201)
async def add_profile_fact(
    body: NewProfileFact, request: Request, services: Services = Depends(get_services)
) -> ProfileFact:
    uid = resolve_user(request, body.user_id)
    return await asyncio.to_thread(services.memory.profile.store.add, uid, body)


@router.patch("/memory/profile/{fact_id}", response_model=ProfileFact)
async def edit_profile_fact(
    fact_id: FactId,
    patch: ProfileFactPatch,
    request: Request,
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> ProfileFact:
    """Edit the text or kind, pin or unpin; an edited fact is never overwritten by the
    extractors."""
    uid = resolve_user(request, user_id)
    fact = await asyncio.to_thread(services.memory.profile.store.update, uid, fact_id, patch)
    if fact is None:
        raise NotFound("error.profile_fact_not_found")
    return fact


@router.delete("/memory/profile/{fact_id}", status_code=204)
async def delete_profile_fact(
    fact_id: FactId,
    request: Request,
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> Response:
    uid = resolve_user(request, user_id)
    if not await asyncio.to_thread(services.memory.profile.store.delete, uid, fact_id):
        raise NotFound("error.profile_fact_not_found")
    return Response(status_code=204)


@router.get("/memory/{memory_id}", response_model=MemoryItem)
async def get(
    memory_id: MemoryId,
    request: Request,
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> MemoryItem:
    uid = resolve_user(request, user_id)
    item = await services.memory.get_async(memory_id, uid)
    if item is None:
        raise NotFound("error.memory_not_found")
    return item


@router.put("/memory/{memory_id}", response_model=MemoryItem)
async def update(
    memory_id: MemoryId,
    patch: MemoryPatch,
    request: Request,
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> MemoryItem:
    uid = resolve_user(request, user_id)
    item = await services.memory.update_async(memory_id, uid, patch)
    if item is None:
        raise NotFound("error.memory_not_found")
    return item


@router.delete("/memory/{memory_id}", status_code=204)
async def delete(
    memory_id: MemoryId,
    request: Request,
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> Response:
    uid = resolve_user(request, user_id)
    if not await services.memory.delete_async(memory_id, uid):
        raise NotFound("error.memory_not_found")
    return Response(status_code=204)


@router.post("/conversations/import", response_model=ImportResult, status_code=201)
async def import_conversation(
    request: Request,
    file: UploadFile = File(description="IKAR export, SillyTavern JSONL, or a JSON list"),
    format: Literal["auto", "ikar", "sillytavern", "plain"] = Form("auto"),
    persona: str | None = Form(None, max_length=128),
    user_id: str | None = Form(None, max_length=64),
    services: Services = Depends(get_services),
) -> ImportResult:
    uid = resolve_user(request, user_id)
    data = await read_upload(file, services.settings.max_upload_bytes)
    return await services.transfer.import_file_async(uid, data, format, file.filename, persona)


@router.get("/conversations/{conversation_id}/export")
async def export_conversation(
    conversation_id: str,
    request: Request,
    format: Literal["md", "json", "jsonl"] = Query("md"),
    user_id: str | None = Query(None, max_length=64),
    services: Services = Depends(get_services),
) -> Response:
    uid = resolve_user(request, user_id)
    text, media_type = await services.transfer.export_async(uid, conversation_id, format)
    name = f"conversation-{conversation_id[:12]}.{format}"
    return Response(
        text.encode("utf-8"),
        media_type=media_type,
        headers=attachment(name),
    )
