"""POST /api/chat (JSON or SSE), conversations and their messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.types import Send

from app.api.deps import authenticated, get_services, resolve_user
from app.composition import Services
from app.errors import render_body
from app.services.turns import ChatEvent, TurnFailure
from app.storage.records import Conversation, Message
from config.validation import CleanInput
from models.types import Usage

router = APIRouter(prefix="/api", tags=["chat"], dependencies=[Depends(authenticated)])


class ChatRequest(CleanInput):
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
    `started`, `queued` (`{"position"}`, while other turns use the model), many `token`
    (`{"text"}`), then `done` (the same fields as the JSON reply) or `error`.

    A full line of waiting turns answers 503 with `Retry-After` (nothing is stored). A
    client that disconnects, streaming or not, cancels its turn; its message stays stored."""
    user_id = resolve_user(request, body.user_id)
    cancel = threading.Event()
    events = services.chat.send(
        user_id,
        body.message,
        conversation_id=body.conversation_id,
        persona_id=body.persona,
        language=body.language,
        cancel=cancel,
    )
    # Validation (400/413), the rate limit (429), a full line (503) and a missing
    # conversation (404) raise at the first step, before anything is stored: they answer
    # as a status code.
    first = await anext(events)
    events = until_disconnected(request, events, cancel)
    if body.stream:
        return _ClosingStream(
            _sse(first, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    final = first
    async for event in events:
        if event.type in ("done", "error"):
            final = event
    if final.type not in ("done", "error"):  # the client left: nobody reads this answer
        return JSONResponse({}, status_code=499)
    if final.failure is not None:
        body_ = _failure_body(final.failure, request.headers.get("accept-language"))
        body_["conversation_id"] = final.conversation_id
        body_["user_message_id"] = final.user_message_id
        return JSONResponse(body_, status_code=final.failure.status)
    return _response(final)


def _response(event: ChatEvent) -> ChatResponse:
    outcome = event.outcome
    return ChatResponse(
        reply=event.reply or "",
        conversation_id=event.conversation_id or "",
        message_id=event.message_id or "",
        user_message_id=event.user_message_id,
        model=event.model,
        usage=event.usage,
        stopped=event.stopped,
        reaction=outcome.reaction if outcome else None,
        soul=outcome.soul.model_dump(mode="json") if outcome and outcome.soul else None,
        memories=outcome.memories_wire() if outcome else None,
        media=outcome.media_wire() if outcome else None,
    )


def _failure_body(failure: TurnFailure, accept_language: str | None) -> dict[str, Any]:
    """A failed turn in the one error body shape (as app/api/errors.py answers)."""
    return render_body(failure.code, failure.key, failure.params, accept_language)


def _error_frame(event: ChatEvent) -> dict[str, Any]:
    """The SSE `error` event: the fields clients have always read."""
    failure = event.failure
    assert failure is not None
    return {
        "type": "error",
        "conversation_id": event.conversation_id,
        "user_message_id": event.user_message_id,
        "text": "",
        "stopped": False,
        "extras": {},
        "error_code": failure.code,
        "error_key": failure.key,
        "error_status": failure.status,
        "error": failure.detail,
    }


# How often a waiting or generating turn checks that its client is still there.
DISCONNECT_POLL_S = 0.5


async def until_disconnected(
    request: Request,
    events: AsyncIterator[ChatEvent],
    cancel: threading.Event,
    poll_s: float = DISCONNECT_POLL_S,
) -> AsyncIterator[ChatEvent]:
    """Relay `events` while the client is connected; when it goes away (closed tab, killed
    curl, a timeout in a proxy) stop the turn: it leaves the line or stops generating.

    A non-streaming request notices nothing by itself (the server only learns of the
    disconnect when it writes the answer) and a stream learns it at the next token, which
    may be minutes away for a turn that waits in line, hence the polling. The user's
    message was stored before the first event, so nothing acknowledged is lost; a partial
    reply is stored as a stopped one.
    """
    iterator = aiter(events)
    loop = asyncio.get_running_loop()
    next_check = loop.time() + poll_s
    pending: asyncio.Future[ChatEvent] | None = None
    finished = False  # the turn's events ran out (done, failed, or stopped and drained)
    try:
        while True:
            pending = asyncio.ensure_future(anext(iterator))
            while True:
                # Checked every `poll_s` whether events flow (tokens) or not (waiting).
                await asyncio.wait({pending}, timeout=max(0.0, next_check - loop.time()))
                if loop.time() >= next_check:
                    next_check = loop.time() + poll_s
                    if await request.is_disconnected():
                        cancel.set()
                        # Keep reading: the turn ends soon (it stops between tokens, or
                        # leaves the line) and stores what it has.
                        await _drain(pending, iterator)
                        finished = True
                        return
                if pending.done():
                    break
            try:
                event = pending.result()
            except StopAsyncIteration:
                finished = True
                return
            pending = None
            yield event
    finally:
        if not finished:  # our reader was cancelled, or stopped reading (a failed write)
            cancel.set()
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        with contextlib.suppress(BaseException):
            await iterator.aclose()  # type: ignore[attr-defined]


async def _drain(pending: asyncio.Future[ChatEvent], iterator: AsyncIterator[ChatEvent]) -> None:
    with contextlib.suppress(StopAsyncIteration):
        await pending
        async for _ in iterator:
            pass


async def _sse(first: ChatEvent, events: AsyncIterator[ChatEvent]) -> AsyncIterator[bytes]:
    try:
        yield _frame(first.type, first.model_dump(exclude_none=True, exclude_defaults=True))
        async for event in events:
            if event.type == "queued":
                yield _frame("queued", {"position": event.position})
            elif event.type == "token":
                yield _frame("token", {"text": event.text})
            elif event.type == "done":
                yield _frame("done", _response(event).model_dump(mode="json"))
            elif event.type == "error":
                yield _frame("error", _error_frame(event))
    finally:  # closed early (the client left): `until_disconnected` stops the turn
        with contextlib.suppress(BaseException):
            await events.aclose()  # type: ignore[attr-defined]


class _ClosingStream(StreamingResponse):
    """A stream that closes its body when a write fails. Starlette leaves the body iterator
    suspended when `send` raises (a client that left, seen only by the failed write), and
    nothing would stop the turn until the garbage collector found it: measured, a reply kept
    generating for over 20 s after its client had gone."""

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                with contextlib.suppress(BaseException):
                    await close()


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
    return ConversationList(items=await services.chat.list_conversations(uid))


@router.get("/conversations/{conversation_id}/messages", response_model=MessageList)
async def list_messages(
    conversation_id: str,
    request: Request,
    user_id: str | None = Query(default=None, max_length=64),
    services: Services = Depends(get_services),
) -> MessageList:
    uid = resolve_user(request, user_id)
    conv = await services.chat.get_conversation(uid, conversation_id)
    items = await services.chat.list_messages(uid, conversation_id)
    return MessageList(conversation=conv, items=items)
