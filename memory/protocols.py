"""The swappable part of memory: how text becomes vectors.

Two real embedders ship (`E5Embedder`, `MiniLMEmbedder`), chosen by config
(`memory/embedders/factory.py`); the store and the retriever have one implementation each
(`SqliteMemoryStore`, `HybridRetriever`) and are used as those classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memory.types import ComponentStatus

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
