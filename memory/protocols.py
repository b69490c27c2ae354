"""The three swappable parts of memory: where memories live, how text becomes vectors, and
how a query becomes a ranked list. One real implementation of each ships here
(`SqliteMemoryStore`, `E5Embedder`/`MiniLMEmbedder`, `HybridRetriever`); tests and the app
depend on these protocols, not on the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memory.types import (
    ComponentStatus,
    MemoryFilter,
    MemoryHit,
    MemoryItem,
    MemoryPage,
    MemoryQuery,
    Namespace,
    NewMemory,
)

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Text -> L2-normalised float32 vectors. Queries and passages may be embedded differently
    (e5 prefixes them), so retrieval must use `embed_queries` and storage `embed_passages`."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def status(self) -> ComponentStatus: ...

    def unload(self) -> None: ...


@runtime_checkable
class MemoryStore(Protocol):
    """The source of truth for memories (rows, keyword index, stored vectors)."""

    def add(self, items: Sequence[NewMemory], chunk_max_chars: int | None = None) -> list[int]: ...

    def get(self, memory_id: int, user_id: str) -> MemoryItem | None: ...

    def list_memories(self, user_id: str, flt: MemoryFilter) -> MemoryPage: ...

    def delete(self, memory_id: int, user_id: str) -> bool: ...

    def keyword_search(
        self, namespace: Namespace, query: str, limit: int
    ) -> list[tuple[int, float]]: ...

    def vectors(self, ids: Sequence[int]) -> dict[int, Vectors]: ...


@runtime_checkable
class Retriever(Protocol):
    """A query -> ranked, budgeted memories."""

    def search(self, query: MemoryQuery) -> list[MemoryHit]: ...
