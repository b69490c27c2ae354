"""`FaissVectorIndex`: the derived vector index, keyed by SQLite memory ids.

`IndexIDMap2` over `IndexFlatIP` (exact, supports removal) or over `IndexHNSWFlat`
(approximate, inner product; HNSW cannot remove, so removals and re-embeddings are
remembered as "stale" ids and the graph is rebuilt from SQLite's stored vectors when it is
saved or when stale entries pass a threshold). Search results are always re-checked against
SQLite by the retriever, so a stale entry can only cost a candidate slot, never leak or
mis-score a memory.

Saving: the index is serialised under the lock (a memory copy, milliseconds at 10k items),
then written outside it to a temp file, fsynced and `os.replace`d, so readers keep searching
while the file is written and a crash leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

from memory.protocols import Vectors

log = logging.getLogger(__name__)


class IndexFileError(RuntimeError):
    """The saved index is missing, unreadable or of the wrong shape."""


class FaissVectorIndex:
    """A thread-safe FAISS index with int64 ids = `memories.id`."""

    def __init__(
        self,
        dim: int,
        kind: str = "flat",
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 64,
    ) -> None:
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown index kind {kind!r}")
        self.dim = dim
        self.kind = kind
        self._hnsw_m = hnsw_m
        self._ef_construction = ef_construction
        self._ef_search = ef_search
        self._lock = threading.RLock()
        self._index = self._new_index()
        self._stale: set[int] = set()  # hnsw: removed ids still in the graph
        self._dead_slots = 0  # hnsw: graph entries no longer live (removed or replaced)
        self.last_saved_at: float | None = None

    def _new_index(self) -> faiss.IndexIDMap2:
        inner: faiss.Index
        if self.kind == "flat":
            inner = faiss.IndexFlatIP(self.dim)
        else:
            inner = faiss.IndexHNSWFlat(self.dim, self._hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self._ef_construction
            inner.hnsw.efSearch = self._ef_search
        return faiss.IndexIDMap2(inner)

    # ----- mutation -----------------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: Vectors) -> None:
        """Add (or replace) vectors for ids."""
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._lock:
            present = self._present(ids)
            if len(present):
                if self.kind == "flat":
                    self._index.remove_ids(faiss.IDSelectorBatch(present))
                else:
                    live = [int(i) for i in present if int(i) not in self._stale]
                    self._dead_slots += len(live)
                    self._stale.difference_update(int(i) for i in present)
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: Iterable[int]) -> None:
        """Forget ids (flat: removed; hnsw: marked stale until the next rebuild)."""
        arr = np.fromiter((int(i) for i in ids), dtype=np.int64)
        if len(arr) == 0:
            return
        with self._lock:
            if self.kind == "flat":
                self._index.remove_ids(faiss.IDSelectorBatch(arr))
            else:
                for memory_id in self._present(arr):
                    if int(memory_id) not in self._stale:
                        self._stale.add(int(memory_id))
                        self._dead_slots += 1

    def _present(self, ids: np.ndarray) -> np.ndarray:
        current = self._id_array()
        return ids[np.isin(ids, current)]

    def reset(self) -> None:
        with self._lock:
            self._index = self._new_index()
            self._stale.clear()
            self._dead_slots = 0

    def rebuild(self, batches: Iterable[tuple[np.ndarray, Vectors]]) -> int:
        """Replace the whole index with `batches` of (ids, vectors); returns its size.

        Built aside and swapped in, so searches keep working during a rebuild.
        """
        fresh = self._new_index()
        for ids, vectors in batches:
            if len(ids):
                fresh.add_with_ids(
                    np.ascontiguousarray(vectors, dtype=np.float32),
                    np.ascontiguousarray(ids, dtype=np.int64),
                )
        with self._lock:
            self._index = fresh
            self._stale.clear()
            self._dead_slots = 0
            return int(fresh.ntotal)

    # ----- queries ------------------------------------------------------------------------

    def search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """Top-k (id, inner product) for one query vector, stale entries skipped."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        with self._lock:
            n = int(self._index.ntotal)
            if n == 0 or k <= 0:
                return []
            scores, ids = self._index.search(q, min(k + self._dead_slots, n))
            stale = set(self._stale)
        out: list[tuple[int, float]] = []
        seen: set[int] = set()
        for score, memory_id in zip(scores[0], ids[0], strict=True):
            mid = int(memory_id)
            if mid < 0 or mid in stale or mid in seen:
                continue
            seen.add(mid)
            out.append((mid, float(score)))
        return out[:k]

    @property
    def size(self) -> int:
        """Live vectors (stale HNSW entries not counted)."""
        with self._lock:
            return int(self._index.ntotal) - self._dead_slots

    @property
    def needs_rebuild(self) -> bool:
        """True when the HNSW graph holds dead entries (a rebuild compacts it)."""
        with self._lock:
            return self._dead_slots > 0

    def _id_array(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def ids(self) -> np.ndarray:
        """Live ids, sorted."""
        with self._lock:
            arr = self._id_array()
            stale = np.fromiter(self._stale, dtype=np.int64)
        if len(stale):
            arr = arr[~np.isin(arr, stale)]
        return np.unique(arr)

    # ----- persistence --------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Atomic save: serialise under the lock, write + fsync + rename outside it."""
        with self._lock:
            if self._dead_slots:
                raise IndexFileError("index has stale entries; rebuild before saving")
            blob = faiss.serialize_index(self._index)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}.{threading.get_ident()}")
        with open(tmp, "wb") as fh:
            fh.write(blob.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        self.last_saved_at = time.time()

    def load(self, path: Path) -> None:
        """Load a saved index; raises IndexFileError when missing, corrupt or mismatched."""
        if not path.exists():
            raise IndexFileError(f"{path} does not exist")
        try:
            data = np.fromfile(path, dtype=np.uint8)
            loaded = faiss.deserialize_index(data)
        except Exception as exc:  # faiss raises RuntimeError with C++ text
            raise IndexFileError(f"{path} is unreadable: {exc}") from exc
        if not isinstance(loaded, faiss.IndexIDMap2) or loaded.d != self.dim:
            raise IndexFileError(f"{path} holds a {type(loaded).__name__} of dim {loaded.d}")
        inner = faiss.downcast_index(loaded.index)
        expected = faiss.IndexFlatIP if self.kind == "flat" else faiss.IndexHNSWFlat
        if not isinstance(inner, expected):
            raise IndexFileError(f"{path} holds a {type(inner).__name__}, want {self.kind}")
        if isinstance(inner, faiss.IndexHNSWFlat):
            inner.hnsw.efSearch = self._ef_search
        with self._lock:
            self._index = loaded
            self._stale.clear()
            self._dead_slots = 0


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
