"""The model calls memory makes: consolidation's summary of a window of old turns, and the
profile extractor's JSON-schema constrained reading of a message.

The instruction is a prompt file (`config/prompts/memory/summarize.txt`, bilingual: the
model answers in the conversation's language), so it is edited like the other prompts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.services.models import ModelManager
from app.services.scheduling import TurnScheduler
from config.settings import CONFIG_DIR
from models.errors import GenerationCancelledError
from models.types import ChatMessage, SamplingParams

SUMMARY_PROMPT = Path("memory") / "summarize.txt"
MAX_INPUT_CHARS = 6000


class Summarizer:
    """`summarize(lines) -> text` over the active model; memory calls it from its own thread."""

    def __init__(
        self,
        models: ModelManager,
        prompts_dir: Path,
        scheduler: TurnScheduler | None = None,
        idle_poll_s: float = 1.0,
        max_wait_s: float = 600.0,
    ) -> None:
        self.models = models
        # Summaries are background work: they take the model only while no chat turn runs
        # or waits, and give it back (then start again) when one arrives.
        self.scheduler = scheduler
        self.idle_poll_s = idle_poll_s
        self.max_wait_s = max_wait_s
        path = prompts_dir / SUMMARY_PROMPT
        if not path.is_file():  # a custom prompts folder without it: use the shipped one
            path = CONFIG_DIR / "prompts" / SUMMARY_PROMPT
        self.instruction = path.read_text(encoding="utf-8").strip()

    def __call__(self, lines: list[str]) -> str:
        prompt = [
            ChatMessage(role="system", content=self.instruction),
            ChatMessage(role="user", content="\n".join(lines)[:MAX_INPUT_CHARS]),
        ]
        # Background work: nothing of this prompt is kept as a saved KV state.
        params = SamplingParams(max_tokens=200, temperature=0.2, keep_state=False)
        if self.scheduler is None:
            chunks = self.models.backend().stream(prompt, params)
            return "".join(c.text for c in chunks).strip()
        waited = 0.0
        pause = threading.Event()
        while True:
            backend = self.models.backend()
            ticket = self.scheduler.try_background(backend.name)
            if ticket is not None:
                try:
                    chunks = backend.stream(prompt, params, ticket.preempt)
                    return "".join(c.text for c in chunks).strip()
                except GenerationCancelledError:
                    pass  # a person needed the model: summarise again when it is idle
                finally:
                    self.scheduler.leave(ticket)
            if waited >= self.max_wait_s or self.scheduler.closed:
                raise TimeoutError(f"the model was busy for {self.max_wait_s:.0f} s")
            pause.wait(self.idle_poll_s)
            waited += self.idle_poll_s


class FactAsker:
    """`ask(instruction, message, schema) -> JSON text` over the active model, the reply
    constrained to `schema` (a grammar in llama.cpp), for the profile extractor.

    Background work like the summarizer: it takes the model only while no turn runs or
    waits (`TurnScheduler.try_background`), is preempted between tokens when one arrives,
    and saves no KV state, so a chat's cached prompt stays in place.
    """

    def __init__(
        self,
        models: ModelManager,
        max_tokens: int = 160,
        scheduler: TurnScheduler | None = None,
    ) -> None:
        self.models = models
        self.max_tokens = max_tokens
        self.scheduler = scheduler
        # Whether a chat turn wants the model: extraction gives way at once (set by the
        # composition root to `ChatService.busy`).
        self.busy: Callable[[], bool] = lambda: False

    def __call__(self, instruction: str, message: str, schema: dict[str, Any]) -> str:
        backend = self.models.backend()
        if not backend.status().loaded:
            # never load a model (seconds, GBs) just to read facts; the rules still ran
            raise ModelNotLoaded("the model is not loaded")
        if self.busy():
            raise ModelNotLoaded("a chat turn needs the model")
        prompt = [
            ChatMessage(role="system", content=instruction),
            ChatMessage(role="user", content=message),
        ]
        params = SamplingParams(
            max_tokens=self.max_tokens, temperature=0.0, json_schema=schema, keep_state=False
        )
        ticket = self.scheduler.try_background(backend.name) if self.scheduler else None
        if self.scheduler is not None and ticket is None:
            raise ModelNotLoaded("a chat turn needs the model")
        out: list[str] = []
        try:
            chunks = backend.stream(prompt, params, ticket.preempt if ticket else None)
            for chunk in chunks:
                if self.busy():  # a user is waiting: stop (closing the stream stops the model)
                    raise ModelNotLoaded("a chat turn needs the model")
                out.append(chunk.text)
        except GenerationCancelledError:
            raise ModelNotLoaded("a chat turn needs the model") from None
        finally:
            if ticket is not None and self.scheduler is not None:
                self.scheduler.leave(ticket)
        return "".join(out).strip()


class ModelNotLoaded(RuntimeError):
    """Fact extraction skipped: the model is not loaded, or a chat turn needs it."""
