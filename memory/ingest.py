"""`IngestQueue`: the background writer that embeds and indexes memories.

The chat pipeline's `remember_turn` writes the SQLite row synchronously (one short
transaction: durable once acknowledged) and hands the new ids to this queue; one daemon
thread embeds them in batches, stores the vectors in SQLite and adds them to FAISS. If the
process dies, rows without vectors are found at the next start and queued again, so the
queue itself never needs to be durable.

Priorities: a live chat turn (`enqueue_live`) goes first, in a batch of its own, so the
next turn finds its vector even right after a big import; then new memories (`enqueue`:
imports, consolidation); then background work (`enqueue_background`: rows found pending at
start, a re-embedding after the passage format changed), so a migration of 50k memories
never delays the newest turn's vector by minutes. `wait_for(ids)` lets the next turn's
recall wait (bounded) for the previous turn's vectors.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterable

import numpy as np

from memory.embedders.base import EmbedderUnavailable
from memory.index_keeper import IndexKeeper
from memory.protocols import Embedder
from memory.sqlite_store import SqliteMemoryStore

log = logging.getLogger(__name__)

_STOP = -1
LIVE, NEW, BACKGROUND = -1, 0, 2  # priorities (1 is the stop marker's)


class IngestQueue:
    def __init__(
        self,
        store: SqliteMemoryStore,
        embedder: Embedder,
        keeper: IndexKeeper,
        batch_size: int = 32,
        idle_unload_s: float | None = None,
        retry_delay_s: float = 5.0,
        vector_key: str | None = None,
        context_turns: int = 0,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._keeper = keeper
        self._vector_key = vector_key or embedder.name
        self._context_turns = context_turns
        self._batch_size = batch_size
        self._idle_unload_s = idle_unload_s
        self._retry_delay_s = retry_delay_s
        # (priority, sequence, id): -1 = a live turn, 0 = new, 1 = stop, 2 = background;
        # FIFO within one
        self._queue: queue.PriorityQueue[tuple[int, int, int]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._in_flight = 0
        self._queued: set[int] = set()  # ids not yet embedded (for `wait_for`)
        self.processed = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="memory-ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            # after the turns just said, before background work (resumed at the next start)
            self._queue.put((1, next(self._seq), _STOP))
            self._thread.join(timeout)
        self._thread = None

    def enqueue(self, ids: Iterable[int], priority: int = NEW) -> None:
        with self._idle:
            for memory_id in ids:
                self._in_flight += 1
                self._queued.add(memory_id)
                self._queue.put((priority, next(self._seq), memory_id))

    def enqueue_live(self, ids: Iterable[int]) -> None:
        self.enqueue(ids, priority=LIVE)

    def enqueue_background(self, ids: Iterable[int]) -> None:
        self.enqueue(ids, priority=BACKGROUND)

    def wait_for(self, ids: Iterable[int], timeout: float) -> bool:
        """Block until these ids are embedded and indexed (or failed), at most `timeout`
        seconds; True when none is left waiting."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        with self._idle:
            while wanted & self._queued:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def pending(self) -> int:
        with self._idle:
            return self._in_flight

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until everything queued so far is embedded and indexed (tests, imports)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _done(self, ids: list[int]) -> None:
        with self._idle:
            self._in_flight -= len(ids)
            self._queued.difference_update(ids)
            self._idle.notify_all()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=1.0)
            except queue.Empty:
                self._keeper.maybe_save()
                self._maybe_unload()
                continue
            batch = [first]
            # background work goes in small batches: a search waits behind at most one
            limit = self._batch_size * 4 if first[0] < 2 else self._batch_size
            while len(batch) < limit:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if first[0] == LIVE and item[0] != LIVE:  # a live turn's batch stays small
                    self._queue.put(item)
                    break
                batch.append(item)
            stop = any(item[2] == _STOP for item in batch)
            priority = {item[2]: item[0] for item in batch}
            ids = [item[2] for item in batch if item[2] != _STOP]
            try:
                self._process(ids)
            except EmbedderUnavailable as exc:
                # Rows stay pending in SQLite; retry later rather than spin.
                self.last_error = str(exc)
                log.error("memory ingest: %s", exc)
                time.sleep(self._retry_delay_s)
                if not stop:
                    for memory_id in ids:
                        self._queue.put((priority[memory_id], next(self._seq), memory_id))
                    continue
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("memory ingest failed for %d ids", len(ids))
            self._done(ids)
            if stop:
                self._keeper.save()
                return
            self._keeper.maybe_save()

    def _process(self, ids: list[int]) -> None:
        # deleted rows simply vanish here
        passages = self._store.passages(ids, self._context_turns)
        if not passages:
            return
        keys = list(passages)
        vectors = self._embedder.embed_passages([passages[k][1] for k in keys])
        stored = set(
            self._store.set_vectors(
                [(k, passages[k][0], vectors[i]) for i, k in enumerate(keys)], self._vector_key
            )
        )
        keep = [i for i, k in enumerate(keys) if k in stored]
        if keep:
            ids_arr = np.array([keys[i] for i in keep], dtype=np.int64)
            self._keeper.index.add(ids_arr, vectors[keep])
            # A row deleted between set_vectors and add would leave an orphan: drop it.
            alive = self._store.texts([int(i) for i in ids_arr])
            gone = [int(i) for i in ids_arr if int(i) not in alive]
            if gone:
                self._keeper.index.remove(gone)
            self._keeper.note_changes(len(keep))
        self.processed += len(keep)

    def _maybe_unload(self) -> None:
        idle_for = getattr(self._embedder, "idle_for", None)
        if (
            self._idle_unload_s is not None
            and idle_for is not None
            and idle_for() > self._idle_unload_s
            and self._embedder.status().state == "ready"
        ):
            self._embedder.unload()
