"""`LazyEmbedder`: loading, locking, batching and status shared by every engine.

Why a base class: both engines are heavy (70-90 MB of weights) and not known to be
thread-safe, so each loads on first use behind one lock, serialises calls to the model,
reports unloaded/loading/ready/failed for /health, and can be unloaded when idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from memory.protocols import Vectors
from memory.types import ComponentState, ComponentStatus


class EmbedderUnavailable(RuntimeError):
    """The embedding model could not be loaded (the reason is in the message)."""


class LazyEmbedder:
    """Subclasses set `name`/`dim` and implement `_load` and `_encode`."""

    name: str = "abstract"
    dim: int = 384

    def __init__(self, batch_size: int = 32, threads: int = 1) -> None:
        self._batch_size = batch_size
        self._threads = threads
        self._lock = threading.Lock()
        self._model: Any = None
        self._state: ComponentState = "unloaded"
        self._error: str | None = None
        self._last_used = 0.0

    # subclass hooks -----------------------------------------------------------------------

    def _load(self) -> Any:
        raise NotImplementedError

    def _encode(self, model: Any, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    # public -------------------------------------------------------------------------------

    def status(self) -> ComponentStatus:
        return ComponentStatus(state=self._state, detail=self._error)

    def load(self) -> None:
        """Load now (e.g. at startup in the background) instead of on first use."""
        with self._lock:
            self._ensure_loaded()

    def unload(self) -> None:
        with self._lock:
            self._model = None
            if self._state == "ready":
                self._state = "unloaded"

    def idle_for(self) -> float:
        return time.monotonic() - self._last_used if self._last_used else 0.0

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, is_query=True)

    # internals ----------------------------------------------------------------------------

    def _ensure_loaded(self) -> Any:
        if self._model is not None:
            return self._model
        self._state = "loading"
        self._error = None
        try:
            self._model = self._load()
        except Exception as exc:
            self._state = "failed"
            self._error = f"{type(exc).__name__}: {exc}"
            raise EmbedderUnavailable(f"{self.name}: {self._error}") from exc
        self._state = "ready"
        return self._model

    def _embed(self, texts: Sequence[str], is_query: bool) -> Vectors:
        items = [t if t.strip() else " " for t in texts]
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts: list[np.ndarray] = []
        with self._lock:
            model = self._ensure_loaded()
            for start in range(0, len(items), self._batch_size):
                batch = items[start : start + self._batch_size]
                parts.append(np.asarray(self._encode(model, batch, is_query), dtype=np.float32))
            self._last_used = time.monotonic()
        out = np.vstack(parts).reshape(len(items), self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)
