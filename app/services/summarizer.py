"""The model calls memory makes: consolidation's summary of a window of old turns, and the
profile extractor's JSON-schema constrained reading of a message.

The instruction is a prompt file (`config/prompts/memory/summarize.txt`, bilingual: the
model answers in the conversation's language), so it is edited like the other prompts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.services.models import ModelManager
from config.settings import CONFIG_DIR
from models.types import ChatMessage, SamplingParams

SUMMARY_PROMPT = Path("memory") / "summarize.txt"
MAX_INPUT_CHARS = 6000


class Summarizer:
    """`summarize(lines) -> text` over the active model; memory calls it from its own thread."""

    def __init__(self, models: ModelManager, prompts_dir: Path) -> None:
        self.models = models
        path = prompts_dir / SUMMARY_PROMPT
        if not path.is_file():  # a custom prompts folder without it: use the shipped one
            path = CONFIG_DIR / "prompts" / SUMMARY_PROMPT
        self.instruction = path.read_text(encoding="utf-8").strip()

    def __call__(self, lines: list[str]) -> str:
        prompt = [
            ChatMessage(role="system", content=self.instruction),
            ChatMessage(role="user", content="\n".join(lines)[:MAX_INPUT_CHARS]),
        ]
        params = SamplingParams(max_tokens=200, temperature=0.2)
        chunks = self.models.backend().stream(prompt, params)
        return "".join(c.text for c in chunks).strip()


class FactAsker:
    """`ask(instruction, message, schema) -> JSON text` over the active model, the reply
    constrained to `schema` (a grammar in llama.cpp), for the profile extractor."""

    def __init__(self, models: ModelManager, max_tokens: int = 160) -> None:
        self.models = models
        self.max_tokens = max_tokens
        # Whether a chat turn wants the model: extraction gives way at once (set by the
        # composition root to `ChatService.busy`).
        self.busy: Callable[[], bool] = lambda: False

    def __call__(self, instruction: str, message: str, schema: dict[str, Any]) -> str:
        backend = self.models.backend()
        if not backend.status().loaded:
            # never load a model (seconds, GBs) just to read facts; the rules still ran
            raise ModelNotLoaded("the model is not loaded")
        prompt = [
            ChatMessage(role="system", content=instruction),
            ChatMessage(role="user", content=message),
        ]
        params = SamplingParams(max_tokens=self.max_tokens, temperature=0.0, json_schema=schema)
        out: list[str] = []
        for chunk in backend.stream(prompt, params):
            if self.busy():  # a user is waiting: stop (closing the stream stops the model)
                raise ModelNotLoaded("a chat turn needs the model")
            out.append(chunk.text)
        return "".join(out).strip()


class ModelNotLoaded(RuntimeError):
    """Fact extraction skipped: the model is not loaded, or a chat turn needs it."""
