"""A scripted backend for failure paths that a real model cannot be made to produce on
demand (timeouts, crashes). Always used beside tests of the real llama.cpp backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from models.backend import BackendStatus
from models.errors import GenerationCancelledError, LLMError
from models.state_store import StateCacheStats
from models.types import ChatMessage, SamplingParams, StreamChunk, Usage

if TYPE_CHECKING:
    from app.composition import Services
    from config.settings import Settings


class ScriptedBackend:
    def __init__(
        self, words: list[str] | None = None, error: LLMError | None = None, delay_s: float = 0.0
    ) -> None:
        self.words = ["Hello", " from", " the", " script"] if words is None else words
        self.error = error
        self.delay_s = delay_s
        self.prompts: list[list[ChatMessage]] = []

    name = "scripted"
    n_ctx = 2048
    max_tokens = 64
    turns_at_once = 1

    def stream(
        self,
        messages: list[ChatMessage],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamChunk]:
        self.prompts.append(messages)
        for word in self.words:
            if cancel is not None and cancel.is_set():
                raise GenerationCancelledError("cancelled")
            time.sleep(self.delay_s)
            yield StreamChunk(text=word)
        if self.error is not None:
            raise self.error
        yield StreamChunk(
            done=True, usage=Usage(prompt_tokens=5, completion_tokens=len(self.words))
        )

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def status(self) -> BackendStatus:
        return BackendStatus(
            backend="scripted",
            model="scripted",
            state="ready",
            loaded=True,
            n_ctx=self.n_ctx,
            max_tokens=self.max_tokens,
        )

    def load(self) -> None:
        pass

    def unload(self) -> None:
        pass

    def unload_if_idle(self, idle_s: float) -> bool:
        return False

    def warm_prefix(self, messages: list[ChatMessage]) -> bool:
        return False

    def invalidate(self, messages: list[ChatMessage] | None = None) -> int:
        return 0

    def cache_stats(self) -> StateCacheStats:
        return StateCacheStats(enabled=False)


def services_with(settings: Settings, backend: object) -> Services:
    """The app's whole object graph as the composition root builds it, with `backend` as
    every model (chat, inner life, the prefix warmer)."""
    from app.composition import build_services

    services = build_services(settings)
    use_scripted(services, backend)
    return services


def use_scripted(services: Services, backend: object) -> None:
    """Make `backend` every model of `services` (chat, inner life, the prefix warmer), and pin
    the soul's clock: the soul's draws are seeded with the time, and a `silent` draw may answer
    "..." instead of the scripted text. Pinned, every run draws the same way."""
    from app.services.models import ModelManager
    from models.profiles import load_profiles

    settings = services.settings
    services.models = ModelManager(
        load_profiles(settings.model_profiles_file),
        settings.default_model,
        settings.resolved_models_dir,
        backend_factory=lambda _: backend,  # type: ignore[arg-type,return-value]
    )
    services.chat.models = services.models
    services.inner_life.models = services.models
    services.prefix_warmer.models = services.models
    services.soul.clock = lambda: 1_764_000_000.0
