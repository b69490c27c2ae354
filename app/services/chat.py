"""The chat pipeline: store the user's message, build the prompt, stream the reply, store it.

A user's message is stored before the model runs, so nothing the user sent is lost if
generation fails. Hooks (soul, memory, media) join each turn without this module knowing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.errors import NotFound, ServiceError, describe_failure
from app.services.models import ModelManager
from app.services.turns import ChatEvent, PromptAssembler, TurnContext, TurnHook
from app.storage.database import Database
from app.storage.records import Conversation, Message
from app.storage.repositories import (
    ConversationRepository,
    MessageRepository,
    NotFoundError,
    UserRepository,
)
from models.errors import (
    GenerationCancelledError,
    LLMError,
)
from models.types import ChatMessage, StreamChunk, Usage

log = logging.getLogger(__name__)

# Tokens kept free between the prompt and the reply, for template markers we cannot count.
PROMPT_MARGIN_TOKENS = 64


@dataclass(frozen=True)
class ChatLimits:
    max_message_chars: int
    history_turns: int


class ChatService:
    def __init__(
        self,
        db: Database,
        models: ModelManager,
        assembler: PromptAssembler,
        limits: ChatLimits,
        hooks: Sequence[TurnHook] = (),
        default_language: str = "ru",
        on_generation: Callable[[str, Usage | None], None] | None = None,
    ) -> None:
        self.db = db
        self.models = models
        self.assembler = assembler
        self.limits = limits
        self.hooks = list(hooks)
        self.default_language = default_language
        self.users = UserRepository(db)
        self.conversations = ConversationRepository(db)
        self.messages = MessageRepository(db)
        self.on_generation = on_generation
        self.prompt_log: PromptLog | None = None
        # What of a partial reply may be shown while it streams (media hides its markers).
        self.display_filter: Callable[[str], str] = lambda text: text
        # The cancel event of each user's running generation, for the Stop button.
        self._running: dict[str, threading.Event] = {}

    def is_running(self, user_id: str) -> bool:
        return user_id in self._running

    def stop(self, user_id: str) -> bool:
        """Ask the user's running generation to stop; its partial reply is kept."""
        event = self._running.get(user_id)
        if event is None:
            return False
        event.set()
        return True

    # -- validation --------------------------------------------------------------------
    def validate_message(self, text: str) -> str:
        if not text or not text.strip():
            raise ServiceError("error.empty_message")
        if len(text) > self.limits.max_message_chars:
            raise ServiceError(
                "error.message_too_long", status_code=413, limit=self.limits.max_message_chars
            )
        return text

    # -- conversations -----------------------------------------------------------------
    async def open_conversation(
        self, user_id: str, conversation_id: str | None, persona_id: str | None, title: str
    ) -> Conversation:
        await self.db.run(self.users.get_or_create, user_id)
        if conversation_id is None:
            return await self.db.run(self.conversations.create, user_id, title, persona_id)
        try:
            conv = await self.db.run(self.conversations.get, user_id, conversation_id)
        except NotFoundError:
            raise NotFound("error.conversation_not_found") from None
        if persona_id and persona_id != conv.persona_id:
            # Switching persona mid-way is allowed; a system row records when and from what.
            await self.db.run(self.conversations.set_persona, user_id, conv.id, persona_id)
            await self.db.run(
                self.messages.add,
                conv.id,
                user_id,
                "system",
                "ikar",
                f"persona: {conv.persona_id or '-'} -> {persona_id}",
                persona_id=persona_id,
                meta={"persona_switch": {"from": conv.persona_id, "to": persona_id}},
            )
            conv.persona_id = persona_id
        return conv

    # -- turns -------------------------------------------------------------------------
    async def send(
        self,
        user_id: str,
        text: str,
        conversation_id: str | None = None,
        persona_id: str | None = None,
        language: str | None = None,
        cancel: threading.Event | None = None,
        meta: dict[str, object] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Answer a new user message. Validation errors raise before anything is stored."""
        self.validate_message(text)
        conv = await self.open_conversation(
            user_id, conversation_id, persona_id, title=_title_from(text)
        )
        user_msg = await self.db.run(
            self.messages.add,
            conv.id,
            user_id,
            "user",
            user_id,
            text,
            persona_id=conv.persona_id,
            meta=dict(meta or {}),
        )
        async for event in self._answer(conv, user_msg, language, cancel):
            yield event

    async def regenerate(
        self,
        user_id: str,
        conversation_id: str,
        language: str | None = None,
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Drop the last reply and answer the last user message again."""
        conv, history = await self._load(user_id, conversation_id)
        last_user = next((m for m in reversed(history) if m.role == "user"), None)
        if last_user is None:
            raise ServiceError("error.nothing_to_regenerate")
        await self.db.run(self.messages.delete_from, user_id, conv.id, last_user.seq + 1)
        async for event in self._answer(conv, last_user, language, cancel):
            yield event

    async def edit_last(
        self,
        user_id: str,
        conversation_id: str,
        text: str,
        language: str | None = None,
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Replace the last user message (and everything after it), then answer it."""
        self.validate_message(text)
        conv, history = await self._load(user_id, conversation_id)
        last_user = next((m for m in reversed(history) if m.role == "user"), None)
        if last_user is None:
            raise ServiceError("error.nothing_to_edit")
        # Insert the new message before deleting the old tail: a crash in between leaves
        # both versions, never neither.
        await self.db.run(self.messages.delete_from, user_id, conv.id, last_user.seq)
        new_msg = await self.db.run(
            self.messages.add,
            conv.id,
            user_id,
            "user",
            user_id,
            text,
            persona_id=conv.persona_id,
            meta={"edited_from": last_user.id},
        )
        async for event in self._answer(conv, new_msg, language, cancel):
            yield event

    async def _load(self, user_id: str, conversation_id: str) -> tuple[Conversation, list[Message]]:
        try:
            conv = await self.db.run(self.conversations.get, user_id, conversation_id)
        except NotFoundError:
            raise NotFound("error.conversation_not_found") from None
        history = await self.db.run(self.messages.list, user_id, conv.id, self.limits.history_turns)
        return conv, history

    async def _answer(
        self,
        conv: Conversation,
        user_msg: Message,
        language: str | None,
        cancel: threading.Event | None,
    ) -> AsyncIterator[ChatEvent]:
        cancel = cancel or threading.Event()
        self._running[conv.user_id] = cancel
        try:
            async for event in self._answer_turn(conv, user_msg, language, cancel):
                yield event
        finally:
            if self._running.get(conv.user_id) is cancel:
                del self._running[conv.user_id]

    async def _answer_turn(
        self,
        conv: Conversation,
        user_msg: Message,
        language: str | None,
        cancel: threading.Event,
    ) -> AsyncIterator[ChatEvent]:
        history = await self.db.run(
            self.messages.list, conv.user_id, conv.id, self.limits.history_turns + 1
        )
        history = [m for m in history if m.seq < user_msg.seq]
        ctx = TurnContext(
            user_id=conv.user_id,
            conversation_id=conv.id,
            persona_id=conv.persona_id,
            user_message=user_msg,
            history=history,
            language=language or self.default_language,
        )
        yield ChatEvent(type="started", conversation_id=conv.id, user_message_id=user_msg.id)
        backend = self.models.backend()
        try:
            for hook in self.hooks:
                await _call(hook.before_prompt, ctx)
            reply_text = ""
            shown = ""
            usage: Usage | None = None
            stopped = False
            if ctx.canned_reply is not None:
                reply_text = ctx.canned_reply
                yield ChatEvent(type="token", conversation_id=conv.id, text=reply_text)
            else:
                budget = backend.n_ctx - backend.max_tokens - PROMPT_MARGIN_TOKENS
                prompt = await asyncio.to_thread(
                    self.assembler.assemble, ctx, backend.count_tokens, budget
                )
                if self.prompt_log is not None:
                    await asyncio.to_thread(self.prompt_log.write, prompt)
                async for chunk in _stream_in_thread(backend.stream, prompt, cancel):
                    if chunk.done:
                        usage = chunk.usage
                    elif chunk.text:
                        reply_text += chunk.text
                        visible = self.display_filter(reply_text)
                        # Stream only what is safe to show (no half-written media markers);
                        # the `done` event carries the final reply.
                        if len(visible) > len(shown) and visible.startswith(shown):
                            delta, shown = visible[len(shown) :], visible
                            yield ChatEvent(type="token", conversation_id=conv.id, text=delta)
                stopped = cancel.is_set()
        except GenerationCancelledError:
            stopped = True
        except (LLMError, ServiceError) as exc:
            report = describe_failure(exc)
            log.warning("chat turn failed: %s", exc)
            if self.on_generation:
                self.on_generation(report.code, None)
            yield ChatEvent(
                type="error",
                conversation_id=conv.id,
                user_message_id=user_msg.id,
                error_code=report.code,
                error_key=report.key,
                error_status=report.status,
                error=str(exc),
            )
            return
        for hook in self.hooks:
            reply_text = await _call(hook.transform_reply, ctx, reply_text)
        meta = {"stopped": True} if stopped else {}
        # What the UI shows with the reply after a reload: the reaction and what was recalled.
        meta.update({k: v for k, v in ctx.extras.items() if k in ("reaction", "memories")})
        assistant = await self.db.run(
            self.messages.add,
            conv.id,
            conv.user_id,
            "assistant",
            conv.persona_id or "assistant",
            reply_text,
            persona_id=conv.persona_id,
            model=backend.name,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            meta=meta,
        )
        for hook in self.hooks:
            try:
                await _call(hook.after_reply, ctx, assistant)
            except Exception:  # the reply is stored; a failed extra must not hide it
                log.exception("after-reply hook %s failed", type(hook).__name__)
        if self.on_generation:
            self.on_generation("ok", usage)
        yield ChatEvent(
            type="done",
            conversation_id=conv.id,
            message_id=assistant.id,
            user_message_id=user_msg.id,
            reply=reply_text,
            usage=usage,
            model=backend.name,
            stopped=stopped,
            extras={k: v for k, v in ctx.extras.items() if not k.startswith("_")},
        )

    async def complete(self, user_id: str, text: str, **kwargs: object) -> ChatEvent:
        """Non-streaming convenience: run a turn and return its final event."""
        final: ChatEvent | None = None
        async for event in self.send(user_id, text, **kwargs):  # type: ignore[arg-type]
            if event.type in ("done", "error"):
                final = event
        assert final is not None
        return final


async def _stream_in_thread(
    stream: Callable[..., object], prompt: object, cancel: threading.Event
) -> AsyncIterator[StreamChunk]:
    """Drive a blocking token generator in a worker thread, yielding on the event loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[StreamChunk | BaseException | None] = asyncio.Queue()

    def worker() -> None:
        try:
            for chunk in stream(prompt, None, cancel):  # type: ignore[attr-defined]
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
        except BaseException as exc:  # handed to the consumer, re-raised there
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    task = loop.run_in_executor(None, worker)
    finished = False
    try:
        while True:
            item = await queue.get()
            if item is None:
                finished = True
                break
            if isinstance(item, BaseException):
                finished = True
                raise item
            yield item
    finally:
        if not finished:  # the consumer went away (client disconnected): stop the model
            cancel.set()
        with contextlib.suppress(BaseException):
            await task


class PromptLog:
    """Appends every prompt sent to the model to a JSON-lines file (IKAR_DEBUG_PROMPT_LOG).

    Off by default: the file holds conversation text. For debugging prompts and for
    bench/bench_chat.py, which replays the exact prompts through raw llama-cpp-python.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, prompt: list[ChatMessage]) -> None:
        line = json.dumps([m.model_dump() for m in prompt], ensure_ascii=False)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Await an async hook method; run a blocking one in a worker thread."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    return await asyncio.to_thread(fn, *args)


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return (line[:48] + "…") if len(line) > 48 else line
