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
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.security.limits import RateLimiter
from app.services.errors import NotFound, ServiceError
from app.services.models import ModelManager
from app.services.scheduling import Ticket, TurnScheduler
from app.services.turns import (
    ChatEvent,
    PromptAssembler,
    TurnContext,
    TurnFailure,
    TurnHook,
    TurnHooks,
)
from app.services.user_data import AfterCommit
from app.storage.database import Database
from app.storage.records import Conversation, Message
from app.storage.repositories import (
    ConversationRepository,
    MessageRepository,
    NotFoundError,
    UserRepository,
)
from config.errors import IkarError
from config.validation import check_text
from models.errors import GenerationCancelledError
from models.types import ChatMessage, StreamChunk, Usage

log = logging.getLogger(__name__)

# Tokens kept free between the prompt and the reply, for template markers we cannot count.
PROMPT_MARGIN_TOKENS = 64


@dataclass(frozen=True)
class RunningReply:
    """What a user's running turn has written so far, for a page opened or reloaded while
    it writes (the tab that sent the message gets the tokens themselves)."""

    conversation_id: str
    text: str  # what may be shown (media markers hidden), "" before the first word
    started: float  # time.monotonic() when the turn began


@dataclass(frozen=True)
class ChatLimits:
    max_message_chars: int
    history_turns: int


class ChatService:
    """Turns, and the conversations and messages they live in (this service owns both
    tables: edges call its methods, never the repositories).

    Policy lives here, so the REST API and the Gradio tab get the same rules: message
    validation, the per-user rate limit (`limiter`), and which work runs in a thread.
    """

    def __init__(
        self,
        db: Database,
        models: ModelManager,
        assembler: PromptAssembler,
        limits: ChatLimits,
        hooks: Sequence[TurnHook] = (),
        default_language: str = "ru",
        on_generation: Callable[[str, Usage | None], None] | None = None,
        limiter: RateLimiter | None = None,
        scheduler: TurnScheduler | None = None,
    ) -> None:
        self.db = db
        # As many turns per model as its backend shares; waiting turns see their place.
        self.scheduler = scheduler or TurnScheduler(max_waiting=16)
        self.models = models
        self.assembler = assembler
        self.limits = limits
        # The order is the contract: TurnHooks refuses a hook that needs a later one's slot.
        self.hooks = TurnHooks(hooks, assembler)
        self.default_language = default_language
        self.limiter = limiter
        self.users = UserRepository(db)
        # The repositories behind this service (tests seed data through them).
        self.conversations = ConversationRepository(db)
        self.messages = MessageRepository(db)
        self.on_generation = on_generation
        self.prompt_log: PromptLog | None = None
        # What of a partial reply may be shown while it streams (media hides its markers).
        self.display_filter: Callable[[str], str] = lambda text: text
        # The cancel event of each user's running generation, for the Stop button.
        self._running: dict[str, threading.Event] = {}
        self._tickets: dict[str, Ticket] = {}
        self._replies: dict[str, RunningReply] = {}
        # Told (user_id, message ids) when regenerate / edit drop messages, so what was
        # edited away or regenerated over is not remembered (memory, the profile).
        self.on_messages_deleted: list[Callable[[str, list[str]], object]] = []

    def is_running(self, user_id: str) -> bool:
        return user_id in self._running

    def running_reply(self, user_id: str) -> RunningReply | None:
        """The user's turn being written now, with its text so far; None when none runs."""
        return self._replies.get(user_id)

    def busy(self) -> bool:
        """Whether any user's turn is generating (background model work waits for it)."""
        return bool(self._running)

    def stop(self, user_id: str) -> bool:
        """Ask the user's running generation to stop; its partial reply is kept. A turn
        still waiting for the model leaves the line at once."""
        event = self._running.get(user_id)
        if event is None:
            return False
        event.set()
        ticket = self._tickets.get(user_id)
        if ticket is not None and not ticket.granted:
            self.scheduler.leave(ticket)
        return True

    # -- policy ------------------------------------------------------------------------
    def validate_message(self, text: str) -> str:
        if not text or not text.strip():
            raise ServiceError("error.empty_message")
        if len(text) > self.limits.max_message_chars:
            raise ServiceError(
                "error.message_too_long", status_code=413, limit=self.limits.max_message_chars
            )
        return check_text(text, "message")  # NUL, control characters, lone surrogates

    def admit(self, user_id: str) -> None:
        """Spend one turn of the user's rate budget, or `RateLimitedError` (429)."""
        if self.limiter is not None:
            self.limiter.check(user_id)

    # -- conversations and messages ----------------------------------------------------
    async def list_conversations(self, user_id: str) -> list[Conversation]:
        """The user's conversations, most recently active first."""
        return await asyncio.to_thread(self.conversations.list, user_id)

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        """One of the user's conversations, or `NotFound` (also for someone else's)."""
        try:
            return await asyncio.to_thread(self.conversations.get, user_id, conversation_id)
        except NotFoundError:
            raise NotFound("error.conversation_not_found") from None

    async def list_messages(
        self, user_id: str, conversation_id: str, limit: int | None = None
    ) -> list[Message]:
        """The messages of one of the user's conversations, oldest first (none for others')."""
        return await asyncio.to_thread(self.messages.list, user_id, conversation_id, limit)

    async def count_messages(self, user_id: str, conversation_id: str) -> int:
        """How many messages the conversation holds (cheap: for pollers)."""
        return await asyncio.to_thread(self.messages.count, user_id, conversation_id)

    async def rename_conversation(
        self, user_id: str, conversation_id: str, title: str
    ) -> Conversation:
        """Give the conversation a new title (whitespace collapsed, 120 characters at most);
        a blank title changes nothing."""
        title = check_text(" ".join((title or "").split())[:120], "title")
        if not title:
            return await self.get_conversation(user_id, conversation_id)
        try:
            return await asyncio.to_thread(
                self.conversations.rename, user_id, conversation_id, title
            )
        except NotFoundError:
            raise NotFound("error.conversation_not_found") from None

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        """Delete the conversation and its messages (`NotFound` if it is not the user's)."""
        try:
            await asyncio.to_thread(self.conversations.delete, user_id, conversation_id)
        except NotFoundError:
            raise NotFound("error.conversation_not_found") from None

    def persona_deleted(self, persona_id: str) -> None:
        """A deleted persona's conversations (anyone's) go on with the default persona
        (called by the soul inside its deleting transaction)."""
        self.conversations.detach_persona(persona_id)

    async def refers_to_artifact(self, user_id: str, key: str) -> bool:
        """Whether one of the user's messages shows this artifact (speech, a picture)."""
        return await asyncio.to_thread(self.messages.owns_artifact, user_id, key)

    # -- the user's data (UserDataOwner) -----------------------------------------------
    data_tables: tuple[str, ...] = ("conversations", "messages")

    def count_user_data(self, user_id: str) -> dict[str, int]:
        return {
            "conversations": self.conversations.count_for_user(user_id),
            "messages": self.messages.count_for_user(user_id),
        }

    def export_user_data(self, user_id: str) -> dict[str, Any]:
        conversations = []
        for conv in self.conversations.list(user_id, limit=1_000_000):
            messages = self.messages.list(user_id, conv.id)
            conversations.append(
                {
                    **conv.model_dump(exclude={"message_count"}),
                    "messages": [m.model_dump() for m in messages],
                }
            )
        return {"conversations": conversations}

    def delete_user_data(self, user_id: str, after_commit: AfterCommit) -> dict[str, int]:
        counts = self.count_user_data(user_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM messages WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))
        return counts

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
        greeting: str | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Answer a new user message. Validation, rate-limit and full-line errors raise
        before anything is stored (at the first step of the iterator).

        `greeting`: the persona's first message the user saw on the empty chat (the card's
        `first_mes` or an alternate greeting); a new conversation stores it first, so the
        model and a reload see what the user answered to."""
        self.validate_message(text)
        self.admit(user_id)
        ticket = self._enter_line()
        try:
            conv = await self.open_conversation(
                user_id, conversation_id, persona_id, title=_title_from(text)
            )
            if conversation_id is None and greeting and greeting.strip():
                await self.db.run(
                    self.messages.add,
                    conv.id,
                    user_id,
                    "assistant",
                    conv.persona_id or "assistant",
                    greeting.strip()[: self.limits.max_message_chars],
                    persona_id=conv.persona_id,
                    meta={"greeting": True},
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
        except BaseException:
            self.scheduler.leave(ticket)
            raise
        async for event in self._answer(conv, user_msg, language, cancel, ticket):
            yield event

    async def regenerate(
        self,
        user_id: str,
        conversation_id: str,
        language: str | None = None,
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Drop the last reply and answer the last user message again."""
        self.admit(user_id)
        ticket = self._enter_line()
        try:
            conv, history = await self._load(user_id, conversation_id)
            last_user = next((m for m in reversed(history) if m.role == "user"), None)
            if last_user is None:
                raise ServiceError("error.nothing_to_regenerate")
            await self._drop_tail(user_id, conv.id, history, last_user.seq + 1)
        except BaseException:
            self.scheduler.leave(ticket)
            raise
        async for event in self._answer(conv, last_user, language, cancel, ticket):
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
        self.admit(user_id)
        ticket = self._enter_line()
        try:
            conv, history = await self._load(user_id, conversation_id)
            last_user = next((m for m in reversed(history) if m.role == "user"), None)
            if last_user is None:
                raise ServiceError("error.nothing_to_edit")
            # The old tail is deleted first, then the new message is stored: a crash in
            # between loses the old version (the user is re-sending it) but never leaves both.
            await self._drop_tail(user_id, conv.id, history, last_user.seq)
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
        except BaseException:
            self.scheduler.leave(ticket)
            raise
        async for event in self._answer(conv, new_msg, language, cancel, ticket):
            yield event

    def _enter_line(self) -> Ticket:
        """A place in the active model's line, before anything is stored (`QueueFullError`,
        503 with Retry-After, when the line is full)."""
        backend = self.models.backend()
        return self.scheduler.enter(backend.name, backend.turns_at_once)

    def queue_position(self, user_id: str) -> int | None:
        """Where the user's running turn stands in its line (0: generating), or None."""
        ticket = self._tickets.get(user_id)
        return None if ticket is None else self.scheduler.position(ticket)

    async def _drop_tail(
        self, user_id: str, conversation_id: str, history: list[Message], seq: int
    ) -> None:
        """Delete the messages from `seq` on and tell the listeners which went."""
        gone = [m.id for m in history if m.seq >= seq]
        await self.db.run(self.messages.delete_from, user_id, conversation_id, seq)
        for listener in self.on_messages_deleted:
            try:
                await asyncio.to_thread(listener, user_id, gone)
            except Exception:  # the turn goes on; the memory of it may linger
                log.exception("messages-deleted listener failed")

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
        ticket: Ticket,
    ) -> AsyncIterator[ChatEvent]:
        cancel = cancel or threading.Event()
        self._running[conv.user_id] = cancel
        self._tickets[conv.user_id] = ticket
        reply = self._replies[conv.user_id] = RunningReply(conv.id, "", time.monotonic())
        try:
            async for event in self._answer_turn(conv, user_msg, language, cancel, ticket):
                if event.type == "token" and self._replies.get(conv.user_id) is reply:
                    reply = RunningReply(conv.id, reply.text + event.text, reply.started)
                    self._replies[conv.user_id] = reply
                yield event
        finally:
            # Done, failed, stopped or the client left (the generator is closed): the next
            # turn in the line gets the model.
            self.scheduler.leave(ticket)
            if self._running.get(conv.user_id) is cancel:
                del self._running[conv.user_id]
            if self._tickets.get(conv.user_id) is ticket:
                del self._tickets[conv.user_id]
            if self._replies.get(conv.user_id) is reply:
                del self._replies[conv.user_id]

    async def _answer_turn(
        self,
        conv: Conversation,
        user_msg: Message,
        language: str | None,
        cancel: threading.Event,
        ticket: Ticket,
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
        shown_position = self.scheduler.position(ticket)
        if shown_position:
            yield ChatEvent(type="queued", conversation_id=conv.id, position=shown_position)
        backend = self.models.backend()
        reply_text = ""
        usage: Usage | None = None
        stopped = False
        cut_short: TurnFailure | None = None
        try:
            for hook in self.hooks:
                await _call(hook.before_prompt, ctx)
            shown = ""
            if ctx.canned_reply is not None:
                reply_text = ctx.canned_reply
                yield ChatEvent(type="token", conversation_id=conv.id, text=reply_text)
            else:
                # Wait for a place at the model (as many as its backend shares at once).
                async for position in self.scheduler.wait(ticket, shown_position, cancel):
                    yield ChatEvent(type="queued", conversation_id=conv.id, position=position)
                if cancel.is_set() or not ticket.granted:  # stopped while waiting
                    raise GenerationCancelledError("stopped while waiting for the model")
                budget = backend.n_ctx - backend.max_tokens - PROMPT_MARGIN_TOKENS
                prompt = await asyncio.to_thread(
                    self.assembler.assemble, ctx, backend.count_tokens, budget
                )
                if self.prompt_log is not None:
                    await asyncio.to_thread(self.prompt_log.write, prompt)
                async for chunk in _stream_in_thread(
                    backend.stream, prompt, cancel, self.scheduler.executor
                ):
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
                # The model is free for the next turn while this one's media is made.
                self.scheduler.leave(ticket)
        except GenerationCancelledError:
            stopped = True
        except IkarError as exc:  # model failures, a persona deleted meanwhile, ...
            failure = TurnFailure.of(exc)
            log.warning("chat turn failed: %s", exc)
            if self.on_generation:
                self.on_generation(failure.code, None)
            if not reply_text.strip():
                yield ChatEvent(
                    type="error",
                    conversation_id=conv.id,
                    user_message_id=user_msg.id,
                    failure=failure,
                )
                return
            # A reply cut short (the model fell silent, crashed mid-way): what was written is
            # kept, stored and marked, never thrown away.
            cut_short, stopped = failure, True
        for hook in self.hooks:
            reply_text = await _call(hook.transform_reply, ctx, reply_text)
        outcome = ctx.outcome()
        meta: dict[str, Any] = {"stopped": True} if stopped else {}
        if cut_short is not None:
            meta = {"cut_short": cut_short.code}
        # What the UI shows with the reply after a reload: the reaction and what was recalled.
        if outcome.reaction is not None:
            meta["reaction"] = outcome.reaction
        if outcome.memories is not None:
            meta["memories"] = outcome.memories_wire()
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
        outcome = ctx.outcome()
        if outcome.media is not None:  # speech and pictures made for the reply, kept with it
            await self.db.run(
                self.messages.update_meta,
                assistant.user_id,
                assistant.id,
                {**assistant.meta, "media": outcome.media_wire()},
            )
        if self.on_generation and cut_short is None:
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
            outcome=outcome,
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
    stream: Callable[..., object],
    prompt: object,
    cancel: threading.Event,
    executor: Executor | None = None,
) -> AsyncIterator[StreamChunk]:
    """Drive a blocking token generator in a worker thread of `executor` (the model's own,
    never the default one SQLite and health checks use), yielding on the event loop."""
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

    task = loop.run_in_executor(executor, worker)
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
