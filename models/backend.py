"""The `LLMBackend` protocol: chat messages in, streamed tokens out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from models.profiles import ModelProfile
from models.state_store import StateCacheStats
from models.types import ChatMessage, SamplingParams, StreamChunk


class BackendStatus(BaseModel):
    """What `/health` shows about a backend."""

    backend: str
    model: str
    state: str  # "unloaded" | "loading" | "ready" | "failed"
    loaded: bool
    detail: str | None = None
    n_ctx: int
    max_tokens: int
    state_cache: StateCacheStats | None = None


@runtime_checkable
class LLMBackend(Protocol):
    """A chat model. Implementations enforce their profile's limits themselves.

    `stream` is a blocking generator: callers run it in a worker thread and may set
    `cancel` to stop it between tokens. Messages may carry cache hints
    (`ChatMessage.cache`); a backend that keeps KV states uses them, others ignore them.
    """

    @property
    def name(self) -> str: ...

    @property
    def n_ctx(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def turns_at_once(self) -> int:
        """How many turns may call `stream` at once (the scheduler grants that many);
        a backend that cannot share its model between them says 1."""
        ...

    def stream(
        self,
        messages: list[ChatMessage],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamChunk]: ...

    def count_tokens(self, text: str) -> int: ...

    def status(self) -> BackendStatus: ...

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def unload_if_idle(self, idle_s: float) -> bool: ...

    def warm_prefix(self, messages: list[ChatMessage]) -> bool:
        """Prepare the saved state of a stable prompt prefix (blocking: a background job)."""
        ...

    def invalidate(self, messages: list[ChatMessage] | None = None) -> int:
        """Free saved states starting with `messages` (all without); returns how many."""
        ...

    def cache_stats(self) -> StateCacheStats: ...


class ProfileLimits:
    """Name and limits read from the backend's model profile (shared by every backend)."""

    profile: ModelProfile

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def n_ctx(self) -> int:
        return self.profile.n_ctx

    @property
    def max_tokens(self) -> int:
        return self.profile.max_tokens

    @property
    def turns_at_once(self) -> int:
        return 1
