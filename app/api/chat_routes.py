"""POST /api/chat (JSON or SSE), conversations and their messages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from app.api.deps import get_services, resolve_user
from app.api.errors import error_body
from app.composition import Services
from app.services.errors import NotFound
from app.services.turns import ChatEvent
from app.storage.records import Conversation, Message
from app.storage.repositories import NotFoundError
from models.types import Usage

router = APIRouter(prefix="/api", tags=["chat"])


class ChatRequest(BaseModel):
    message: str = Field(description="The user's message.")
    conversation_id: str | None = Field(default=None, max_length=64)
    user_id: str | None = Field(default=None, max_length=64)
    persona: str | None = Field(default=None, max_length=128, description="Persona id.")
    language: str | None = Field(default=None, max_length=8)
    stream: bool = False


class ChatResponse(BaseModel):
    reply: str
    conversation_id: str
    message_id: str
    user_message_id: str | None = None
    model: str | None = None
    usage: Usage | None = None
    stopped: bool = False
    reaction: str | None = None
    soul: dict[str, Any] | None = None
    memories: list[dict[str, Any]] | None = None
    media: list[dict[str, Any]] | None = None


class ConversationList(BaseModel):
    items: list[Conversation]


class MessageList(BaseModel):
    conversation: Conversation
    items: list[Message]


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON or SSE"}},
)
async def chat(
    body: ChatRequest, request: Request, services: Services = Depends(get_services)
) -> Any:
    """Answer one message. With `"stream": true` the reply streams as Server-Sent Events:
    `started`, many `token` (`{"text"}`), then `done` (the same fields as the JSON reply)
    or `error`."""
    user_id = resolve_user(request, body.user_id)
    services.chat.validate_message(body.message)
    services.chat_limiter.check(user_id)  # 400/413 before anything is stored
    events = services.chat.send(
        user_id,
        body.message,
        conversation_id=body.conversation_id,
        persona_id=body.persona,
        language=body.language,
    )
    if body.stream:
        first = await anext(events)  # surface 404s etc. as a status code, not an SSE event
        return StreamingResponse(
            _sse(first, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    final: ChatEvent | None = None
    async for event in events:
        if event.type in ("done", "error"):
            final = event
    assert final is not None
    if final.type == "error":
        body_ = error_body(
            final.error_code or "llm_error",
            final.error_key or "error.llm_failed",
            detail=final.error or "",
        )
        body_["conversation_id"] = final.conversation_id
        body_["user_message_id"] = final.user_message_id
        return JSONResponse(body_, status_code=final.error_status or 502)
    return _response(final)


def _response(event: ChatEvent) -> ChatResponse:
    extras = event.extras
    return ChatResponse(
        reply=event.reply or "",
        conversation_id=event.conversation_id or "",
        message_id=event.message_id or "",
        user_message_id=event.user_message_id,
        model=event.model,
        usage=event.usage,
        stopped=event.stopped,
        reaction=extras.get("reaction"),
        soul=extras.get("soul"),
        memories=extras.get("memories"),
        media=extras.get("media"),
    )


async def _sse(first: ChatEvent, events: AsyncIterator[ChatEvent]) -> AsyncIterator[bytes]:
    yield _frame(first.type, first.model_dump(exclude_none=True, exclude_defaults=True))
    async for event in events:
        if event.type == "token":
            yield _frame("token", {"text": event.text})
        elif event.type == "done":
            yield _frame("done", _response(event).model_dump(mode="json"))
        else:
            yield _frame(event.type, event.model_dump(mode="json", exclude_none=True))


def _frame(name: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, default=str)
    return f"event: {name}\ndata: {payload}\n\n".encode()


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    request: Request,
    user_id: str | None = Query(default=None, max_length=64),
    services: Services = Depends(get_services),
) -> ConversationList:
    uid = resolve_user(request, user_id)
    items = await services.db.run(services.chat.conversations.list, uid)
    return ConversationList(items=items)


@router.get("/conversations/{conversation_id}/messages", response_model=MessageList)
async def list_messages(
    conversation_id: str,
    request: Request,
    user_id: str | None = Query(default=None, max_length=64),
    services: Services = Depends(get_services),
) -> MessageList:
    uid = resolve_user(request, user_id)
    try:
        conv = await services.db.run(services.chat.conversations.get, uid, conversation_id)
    except NotFoundError:
        raise NotFound("error.conversation_not_found") from None
    items = await services.db.run(services.chat.messages.list, uid, conversation_id)
    return MessageList(conversation=conv, items=items)
