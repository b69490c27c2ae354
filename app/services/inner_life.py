"""The soul's inner life: idle thoughts, and sometimes writing first.

Runs from a background thread (`Services.start_background`); `tick` is one pass, callable
from tests with a fixed clock. It never loads a model just to daydream, and never speaks
more than `max_per_hour` times an hour to one user.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from pydantic import BaseModel

from app.services.defaults import RuntimeDefaults
from app.services.models import ModelManager
from app.services.scheduling import TurnScheduler
from app.services.soul_turns import SoulPromptAssembler
from app.soul import SoulManager
from app.soul.daily import stable_seed
from app.soul.inner_life import first_message_prompt, should_write_first, thought_prompt
from app.storage.database import Database
from app.storage.repositories import MessageRepository
from models.types import ChatMessage, SamplingParams

log = logging.getLogger(__name__)

ACTIVE_WINDOW_S = 7 * 24 * 3600
THOUGHT_CHANCE = 0.35
MARGIN_TOKENS = 64


class InnerEvent(BaseModel):
    kind: str  # "thought" | "first_message"
    user_id: str
    persona_id: str
    conversation_id: str | None = None
    text: str


class InnerLife:
    def __init__(
        self,
        db: Database,
        soul: SoulManager,
        models: ModelManager,
        prompts: SoulPromptAssembler,
        max_per_hour: int,
        clock: Callable[[], float] = time.time,
        *,
        defaults: RuntimeDefaults,
        scheduler: TurnScheduler | None = None,
    ) -> None:
        self.db = db
        self.soul = soul
        self.models = models
        self.prompts = prompts
        self.max_per_hour = max_per_hour
        self.clock = clock
        self.defaults = defaults
        # Thoughts take the model only while no chat turn runs or waits, and give it back
        # between tokens as soon as one arrives.
        self.scheduler = scheduler or TurnScheduler(max_waiting=0, workers=1)
        self.messages = MessageRepository(db)

    def candidates(self, now: float) -> list[dict[str, object]]:
        """Each user's most recent conversation that saw activity in the last week."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT c.id, c.user_id, c.persona_id, c.updated_at,"
                " (SELECT MAX(created_at) FROM messages m WHERE m.conversation_id = c.id"
                "   AND m.role = 'user') AS last_user"
                " FROM conversations c WHERE c.updated_at > ?"
                " AND c.updated_at = (SELECT MAX(updated_at) FROM conversations c2"
                "   WHERE c2.user_id = c.user_id)",
                (now - ACTIVE_WINDOW_S,),
            ).fetchall()
        return [dict(r) for r in rows if r["last_user"] is not None]

    def unprompted_in_last_hour(self, user_id: str, now: float) -> int:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE user_id = ? AND role = 'assistant'"
                " AND created_at > ? AND json_extract(meta, '$.unprompted') = 1",
                (user_id, now - 3600),
            ).fetchone()
        return int(row[0])

    def tick(self, now: float | None = None, force_model: bool = False) -> list[InnerEvent]:
        """One pass over active users. Returns what happened (for logs and tests)."""
        now = self.clock() if now is None else now
        backend = self.models.backend()
        if not force_model and backend.status().state != "ready":
            return []
        events: list[InnerEvent] = []
        for cand in self.candidates(now):
            if not self.scheduler.idle(backend.name):
                break  # people are talking: daydreams wait for the next tick
            user_id = str(cand["user_id"])
            persona_id = str(cand["persona_id"] or self.defaults.persona)
            conv_id = str(cand["id"])
            rng = random.Random(stable_seed("inner", user_id, persona_id, str(int(now // 60))))
            state = self.soul.get_state(user_id, persona_id, now)
            persona = self.soul.get_persona(persona_id)
            budget = backend.n_ctx - backend.max_tokens - MARGIN_TOKENS
            builder = self.prompts.builder(backend.count_tokens, budget)
            recent = [m.content for m in self.messages.list(user_id, conv_id, limit=6)]
            sent = self.unprompted_in_last_hour(user_id, now)
            last_user = float(cand["last_user"])  # type: ignore[arg-type]
            if should_write_first(state, now, last_user, sent, self.max_per_hour, rng):
                prompt = first_message_prompt(
                    builder, persona, state, self.prompts.user_name, now - last_user, recent
                )
                text = self._generate(prompt, 120)
                if text:
                    self.messages.add(
                        conv_id,
                        user_id,
                        "assistant",
                        persona_id,
                        text,
                        persona_id=persona_id,
                        model=backend.name,
                        meta={"unprompted": True},
                        created_at=now,
                    )
                    events.append(
                        InnerEvent(
                            kind="first_message",
                            user_id=user_id,
                            persona_id=persona_id,
                            conversation_id=conv_id,
                            text=text,
                        )
                    )
            elif rng.random() < THOUGHT_CHANCE:
                prompt = thought_prompt(builder, persona, state, self.prompts.user_name, recent)
                text = self._generate(prompt, 60)
                if text:
                    self.soul.add_thought(user_id, persona_id, text, now)
                    events.append(
                        InnerEvent(
                            kind="thought", user_id=user_id, persona_id=persona_id, text=text
                        )
                    )
        return events

    def _generate(self, prompt: list[ChatMessage], max_tokens: int) -> str:
        """A thought, only if the model is idle; "" when busy, preempted or failed."""
        backend = self.models.backend()
        ticket = self.scheduler.try_background(backend.name)
        if ticket is None:
            return ""
        try:
            params = SamplingParams(max_tokens=max_tokens, keep_state=False)
            chunks = backend.stream(prompt, params, ticket.preempt)
            return "".join(c.text for c in chunks).strip()
        except Exception as exc:  # a failed or preempted daydream must never disturb chat
            log.info("inner life generation skipped: %s", exc)
            return ""
        finally:
            self.scheduler.leave(ticket)
