"""Pick the embedding engine named in `MemoryConfig.embedder`."""

from __future__ import annotations

from memory.config import MemoryConfig
from memory.embedders.base import LazyEmbedder
from memory.embedders.e5 import E5Embedder
from memory.embedders.minilm import MiniLMEmbedder


def build_embedder(config: MemoryConfig) -> LazyEmbedder:
    engines: dict[str, type[LazyEmbedder]] = {"e5": E5Embedder, "minilm": MiniLMEmbedder}
    return engines[config.embedder](
        batch_size=config.embed_batch_size, threads=config.embed_threads
    )
