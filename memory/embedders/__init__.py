"""Embedding engines, one file each, chosen by `build_embedder(config)`."""

from memory.embedders.base import EmbedderUnavailable, LazyEmbedder
from memory.embedders.e5 import E5Embedder
from memory.embedders.factory import build_embedder
from memory.embedders.minilm import MiniLMEmbedder

__all__ = ["E5Embedder", "EmbedderUnavailable", "LazyEmbedder", "MiniLMEmbedder", "build_embedder"]
