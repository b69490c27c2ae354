"""Memory in a chat turn: the profile and recall before the prompt; after the reply, both
turns are remembered and read for profile facts (in the background)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.observability.metrics import Metrics
from app.services.turns import RecalledMemory, TurnContext, TurnSlot
from app.storage.records import Message
from memory import MemoryQuery, MemoryService, format_memory_line
from memory.relevance import worth_recalling

log = logging.getLogger(__name__)


class MemoryTurnHook:
    """Fills the prompt's memory slot and stores every turn (embedding runs in the background).

    Runs after the soul hook: it recalls for the turn's resolved persona.
    """

    requires: frozenset[TurnSlot] = frozenset({"persona_id"})
    provides: frozenset[TurnSlot] = frozenset({"memories", "profile", "user_name"})

    def __init__(
        self,
        memory: MemoryService,
        k: int = 6,
        metrics: Metrics | None = None,
        persona_name: Callable[[str], str | None] | None = None,
        user_name: str | None = None,
        settle_s: float = 3.0,
    ) -> None:
        self.memory = memory
        # How long recall waits for the previous turn's vectors (a message sent the moment
        # the last reply ended); past it, recall runs with what is indexed.
        self.settle_s = settle_s
        self.k = k
        self.metrics = metrics
        # Who said a turn goes into the memory itself ("what did Маша say?" needs it);
        # without a name here the memory looks it up from the stored message.
        self.persona_name = persona_name
        self.user_name = user_name

    def before_prompt(self, ctx: TurnContext) -> None:
        try:  # the profile (core memory): always in the note, first
            ctx.profile = self.memory.profile.prompt_lines(ctx.user_id, ctx.persona_id)
            # "What you remember about Алексей", and memories authored "Алексей", once the
            # user said their name (or typed it in the Memory tab)
            ctx.user_name = ctx.user_name or self.memory.profile.user_name(
                ctx.user_id, ctx.persona_id
            )
        except Exception as exc:  # memory is an extra: the reply must still come
            log.warning("profile lookup failed: %s", exc)
        self._recall(ctx)

    def _recall(self, ctx: TurnContext) -> None:
        started = time.perf_counter()
        try:
            self.memory.settle(ctx.user_id, self.settle_s)
            hits = self.memory.retriever.search(
                MemoryQuery(
                    user_id=ctx.user_id,
                    persona_id=ctx.persona_id,
                    query=ctx.user_message.content[:2000],
                    k=self.k + 4,
                )
            )
        except Exception as exc:  # memory is an extra: the reply must still come
            log.warning("memory recall failed: %s", exc)
            return
        if self.metrics is not None:
            self.metrics.observe_retrieval(time.perf_counter() - started)
        # What the prompt already carries as recent history needs no second copy.
        in_history = {m.id for m in ctx.history} | {ctx.user_message.id}
        cfg = self.memory.config
        fresh = [
            h
            for h in hits
            if not set(h.source_message_ids) & in_history
            and worth_recalling(h, cfg.recall_min_z, cfg.recall_min_coverage)
        ][: self.k]
        ctx.memories = [
            RecalledMemory(
                id=h.id,
                text=h.text,
                score=round(h.score, 4),
                kind=h.kind,
                source_message_ids=h.source_message_ids,
                created_at=h.created_at,
                prompt_line=format_memory_line(h),
            )
            for h in fresh
        ]

    def transform_reply(self, ctx: TurnContext, reply: str) -> str:
        return reply

    def after_reply(self, ctx: TurnContext, reply: Message) -> None:
        # Both turns are remembered only now: embedding them while the model reads the
        # prompt would take a core from it (measured: time to first token x2 on 2 cores).
        # A turn whose generation failed stays in the conversation, not in long-term memory.
        self._remember(ctx, ctx.user_message)
        if not reply.meta.get("stopped"):
            self._remember(ctx, reply)
        # Profile facts are read in the background (rules, then the model when it is free).
        self._observe(ctx, ctx.user_message)
        if not reply.meta.get("stopped"):
            self._observe(ctx, reply)

    def _observe(self, ctx: TurnContext, msg: Message) -> None:
        self.memory.profile.observe(ctx.user_id, ctx.persona_id, msg.id, msg.role, msg.content)

    def _remember(self, ctx: TurnContext, msg: Message) -> None:
        if msg.content.strip():
            self.memory.remember_turn(
                ctx.user_id,
                ctx.persona_id,
                ctx.conversation_id,
                msg.id,
                msg.role,
                msg.content,
                msg.created_at,
                author=self.author_of(ctx, msg),
            )

    def author_of(self, ctx: TurnContext, msg: Message) -> str | None:
        """The display name of who said `msg` (None: let the memory look it up)."""
        if msg.role == "user":
            return ctx.user_name or self.user_name
        if msg.role == "assistant" and ctx.persona_id and self.persona_name is not None:
            try:
                return self.persona_name(ctx.persona_id)
            except Exception:  # a persona deleted meanwhile: the stored message names it
                return None
        return None
