"""`IndexKeeper`: keeps the FAISS file consistent with SQLite.

At start it loads the saved index and compares it with SQLite (count and the exact id set
of rows that carry a vector from the current embedder); on any disagreement, a missing
file or a corrupt one it rebuilds from the vectors stored in SQLite (no re-embedding).
While serving it saves after enough changes or enough time, and always on close.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from memory.sqlite_store import SqliteMemoryStore
from memory.vector_index import FaissVectorIndex, IndexFileError

log = logging.getLogger(__name__)


class IndexKeeper:
    def __init__(
        self,
        store: SqliteMemoryStore,
        index: FaissVectorIndex,
        path: Path,
        model: str,
        save_every: int = 200,
        save_interval_s: float = 30.0,
    ) -> None:
        self.store = store
        self.index = index
        self.path = path
        self.model = model
        self._save_every = save_every
        self._save_interval_s = save_interval_s
        self._save_lock = threading.Lock()  # one writer of the file at a time
        self._changes = 0
        self._changes_lock = threading.Lock()
        self._dirty_since: float | None = None
        self.last_check: str | None = None

    def startup_check(self) -> str:
        """Load and verify the saved index; rebuild from SQLite when they disagree."""
        reason: str | None = None
        try:
            self.index.load(self.path)
        except IndexFileError as exc:
            reason = str(exc)
        if reason is None:
            sqlite_ids = self.store.vector_ids(self.model)
            index_ids = self.index.ids()
            if len(index_ids) != len(sqlite_ids) or self.index.size != len(sqlite_ids):
                reason = f"count {self.index.size} in index != {len(sqlite_ids)} in SQLite"
            elif not np.array_equal(index_ids, sqlite_ids):
                reason = "ids differ between index and SQLite"
        if reason is None:
            self.last_check = f"ok ({self.index.size} vectors)"
        else:
            size = self.rebuild()
            self.last_check = f"rebuilt from SQLite ({size} vectors): {reason}"
            log.warning("memory index %s", self.last_check)
        return self.last_check

    def rebuild(self) -> int:
        size = self.index.rebuild(self.store.iter_vectors(self.model))
        self.save()
        return size

    def is_consistent(self) -> bool:
        """Exact check (reads every id): used by status() and tests."""
        return bool(np.array_equal(self.index.ids(), self.store.vector_ids(self.model)))

    def note_changes(self, n: int) -> None:
        with self._changes_lock:
            self._changes += n
            if self._dirty_since is None:
                self._dirty_since = time.monotonic()

    def maybe_save(self) -> bool:
        """Save if enough changes or time have accumulated (called by the writer thread)."""
        with self._changes_lock:
            due = self._changes >= self._save_every or (
                self._dirty_since is not None
                and time.monotonic() - self._dirty_since >= self._save_interval_s
            )
        if due:
            self.save()
        return due

    def save(self) -> None:
        with self._save_lock:
            with self._changes_lock:
                self._changes = 0
                self._dirty_since = None
            if self.index.needs_rebuild:  # HNSW cannot delete: compact from SQLite first
                self.index.rebuild(self.store.iter_vectors(self.model))
            try:
                self.index.save(self.path)
            except IndexFileError:
                # a removal raced in between rebuild and save: compact again next time
                self.note_changes(1)
