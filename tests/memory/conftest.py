"""Fixtures for memory tests.

`e5` is the real embedder, loaded once per session (0.1 s, numpy only). `HashEmbedder` is a
deterministic bag-of-words stand-in used only where a test checks plumbing (threads, kills,
index bookkeeping) beside tests that use the real model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from app.storage.database import Database
from memory import MemoryConfig, MemoryService, build_memory
from memory.embedders import E5Embedder
from memory.types import ComponentStatus


class HashEmbedder:
    """Each word hashes to a fixed random direction; a text is the normalised sum."""

    name = "hash-bow"
    dim = 384

    def _vec(self, text: str) -> np.ndarray:
        out = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            seed = int.from_bytes(hashlib.sha1(word.encode()).digest()[:4], "little")
            out += np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        if not out.any():
            out[0] = 1.0
        return out / np.linalg.norm(out)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def status(self) -> ComponentStatus:
        return ComponentStatus(state="ready")

    def unload(self) -> None:
        pass


@pytest.fixture(scope="session")
def e5() -> E5Embedder:
    return E5Embedder()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "ikar.db")
    yield database
    database.close()


@pytest.fixture
def make_service(db: Database, tmp_path: Path) -> Iterator:
    made: list[MemoryService] = []

    def make(embedder=None, **config) -> MemoryService:
        svc = build_memory(db, MemoryConfig(**config), tmp_path / "index", embedder=embedder)
        svc.start()
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()
