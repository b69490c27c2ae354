"""`MemoryService`: the one object the app holds for long-term memory.

It wires the store (SQLite, source of truth), the embedder, the FAISS index and its keeper,
the ingest writer thread, the hybrid retriever and the consolidator, and exposes what the
REST API, the chat pipeline and the UI need. Build it with `build_memory(...)`, call
`start()` once (startup consistency check + writer thread) and `close()` on shutdown.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.storage.database import Database
from memory.authors import MessageAuthors, TurnRef
from memory.config import MemoryConfig
from memory.consolidation import Consolidator, Summarize
from memory.consolidation_schedule import ConsolidationScheduler
from memory.embedders.factory import build_embedder
from memory.index_keeper import IndexKeeper
from memory.ingest import IngestQueue
from memory.passages import vector_key
from memory.profile import AskModel, CoreMemory, ProfileStore
from memory.protocols import Embedder
from memory.remember_policy import skip_reason
from memory.retriever import CountTokens, HybridRetriever, format_memory_line
from memory.sqlite_store import SqliteMemoryStore
from memory.types import (
    ConsolidationStatus,
    IndexStatus,
    MemoryFilter,
    MemoryHealth,
    MemoryHit,
    MemoryItem,
    MemoryPage,
    MemoryPatch,
    MemoryQuery,
    MemoryStats,
    NewMemory,
    ReembedStatus,
    TurnIn,
    TurnRole,
)
from memory.vector_index import FaissVectorIndex


class MemoryService:
    def __init__(
        self,
        db: Database,
        config: MemoryConfig,
        data_dir: Path,
        embedder: Embedder | None = None,
        summarize: Summarize | None = None,
        count_tokens: CountTokens | None = None,
        clock: Callable[[], float] = time.time,
        ask_model: AskModel | None = None,
    ) -> None:
        self.config = config
        self.store = SqliteMemoryStore(db)
        self.authors = MessageAuthors(db)
        self.embedder: Embedder = embedder or build_embedder(config)
        # what `memories.embedding_model` holds for vectors made the current way
        self.vector_key = vector_key(self.embedder.name, config.embed_context_turns)
        self._clock = clock
        self._not_remembered = 0
        # Each user's latest live turn memories, until their vectors are in (`settle`).
        self._fresh: dict[str, list[int]] = {}
        self._fresh_lock = threading.Lock()
        self.index = FaissVectorIndex(
            self.embedder.dim,
            config.index,
            hnsw_m=config.hnsw_m,
            ef_construction=config.hnsw_ef_construction,
            ef_search=config.hnsw_ef_search,
        )
        index_path = Path(data_dir) / f"memory-{self.embedder.name}-{config.index}.faiss"
        self.keeper = IndexKeeper(
            self.store,
            self.index,
            index_path,
            self.vector_key,
            save_every=config.index_save_every,
            save_interval_s=config.index_save_interval_s,
        )
        self.ingest = IngestQueue(
            self.store,
            self.embedder,
            self.keeper,
            batch_size=config.embed_batch_size,
            idle_unload_s=config.embedder_idle_unload_s,
            vector_key=self.vector_key,
            context_turns=config.embed_context_turns,
        )
        self.retriever = HybridRetriever(
            self.store,
            self.index,
            self.embedder,
            config,
            count_tokens=count_tokens,
            clock=clock,
            vector_key=self.vector_key,
        )
        self.consolidator = Consolidator(
            self.store,
            self.index,
            config.consolidation,
            summarize,
            on_new_memories=self.ingest.enqueue,
            on_removed=self.index.remove,
            embedding_model=self.vector_key,
            clock=clock,
        )
        # Consolidation by itself, in idle time or at night (the app ticks it).
        self._last_turn_at = clock()
        self.schedule = ConsolidationScheduler(
            config.schedule,
            self.consolidator,
            last_activity=lambda: self._last_turn_at,
            clock=clock,
        )
        # Core memory: the user's profile facts, always in the prompt (memory/profile.py).
        self.profile = CoreMemory(
            ProfileStore(db, max_per_user=config.profile.max_facts_per_user),
            config.profile,
            ask_model=ask_model,
            last_activity=lambda: self._last_turn_at,
            clock=clock,
        )
        self._started = False
        # start() runs in a background thread at app start-up; close() must not pull the
        # database out from under it (a closed SQLite connection mid-query crashes the
        # process), so they take turns, and a start() that comes after close() does nothing.
        self._lifecycle = threading.Lock()
        self._closed = False

    # ----- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Check the index against SQLite (rebuild if needed), fill in authors of turns
        stored before attribution, queue rows lacking a current vector (new, edited, or made
        by an older passage format: the re-embedding migration), start the writer thread.
        Returns the check's verdict (also in `status()`). A closed service does not start
        again (build a new one)."""
        with self._lifecycle:
            if self._closed:
                return "closed"
            verdict = self.keeper.startup_check()
            if self._closed:
                return verdict
            self.backfill_authors()
            self._begin_reembed()
            self.ingest.start()
            self.ingest.enqueue_background(self.store.pending_ids(self.vector_key))
            self.profile.start()
            self._started = True
            return verdict

    def backfill_authors(self, batch: int = 5000) -> int:
        """Give turns stored before attribution their author (from the chat message, the
        user's and the persona's names); returns how many were named. Turns whose author
        cannot be known stay unnamed (and are looked at again at the next start)."""
        named = 0
        after = 0
        while not self._closed:
            rows = self.store.turns_without_author(after, batch)
            if not rows:
                break
            after = rows[-1][0]
            authors = self.authors.resolve([ref for _, ref in rows])
            found = [(mid, a) for (mid, _), a in zip(rows, authors, strict=True) if a]
            self.store.set_authors(found)
            named += len(found)
        return named

    # ----- the re-embedding migration -----------------------------------------------------

    def _begin_reembed(self) -> None:
        """Record (or resume) the migration of vectors made by another recipe."""
        stale = self.store.count_stale_vectors(self.vector_key)
        job = self.store.job("reembed")
        cursor = job["cursor"] if job else {}
        if stale == 0:
            if job and job["state"] == "running":
                self.store.set_job("reembed", "done", cursor, finished_at=self._clock())
            return
        if job and job["state"] == "running" and cursor.get("vector_format") == self.vector_key:
            return  # resumed after a restart: keep the original total and start time
        self.store.set_job(
            "reembed",
            "running",
            {"vector_format": self.vector_key, "total": stale},
            started_at=self._clock(),
        )

    def reembed_status(self) -> ReembedStatus:
        """Progress of the re-embedding migration (for /health and the Memory tab)."""
        job = self.store.job("reembed")
        if job is None:
            return ReembedStatus(vector_format=self.vector_key)
        cursor = job["cursor"]
        total = int(cursor.get("total", 0))
        if job["state"] == "running" and cursor.get("vector_format") == self.vector_key:
            left = self.store.count_stale_vectors(self.vector_key)
            if left == 0:
                self.store.set_job("reembed", "done", cursor, finished_at=self._clock())
                job = self.store.job("reembed") or job
            else:
                done = max(0, total - left)
                return ReembedStatus(
                    state="running",
                    vector_format=self.vector_key,
                    total=total,
                    done=done,
                    progress=round(done / total, 4) if total else 1.0,
                    started_at=job["started_at"],
                )
        return ReembedStatus(
            state="done" if job["state"] == "done" else "idle",
            vector_format=str(cursor.get("vector_format", self.vector_key)),
            total=total,
            done=total,
            progress=1.0,
            started_at=job["started_at"],
            finished_at=job["finished_at"],
        )

    def close(self) -> None:
        """Stop background work and save the index (SQLite needs nothing: every write is
        committed when acknowledged). Waits for a start() in progress."""
        self._closed = True
        with self._lifecycle:
            self.consolidator.cancel()
            self.consolidator.wait(30)
            self.profile.stop()
            self.ingest.stop()
            if self._started:
                self.keeper.save()
            self._started = False

    def wait_until_indexed(self, timeout: float = 60.0) -> bool:
        """Block until queued memories are embedded and searchable (imports, tests)."""
        return self.ingest.wait_idle(timeout)

    # ----- ingestion ----------------------------------------------------------------------

    def remember_turn(
        self,
        user_id: str,
        persona_id: str | None,
        conversation_id: str,
        message_id: str,
        role: TurnRole,
        text: str,
        created_at: float,
        author: str | None = None,
    ) -> list[int]:
        """Store a chat turn now (durable on return), embed and index it in the background.

        `author` is who said it (the user's display name, the persona's name); when omitted
        it is looked up from the stored message. Returns [] for a turn not worth
        remembering (see memory/remember_policy.py: a live reply is the model's, so its
        refusals and errors are dropped too)."""
        self._last_turn_at = self._clock()  # the consolidation schedule waits for idle time
        ids = self._remember(
            [
                TurnIn(
                    user_id=user_id,
                    persona_id=persona_id,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    role=role,
                    text=text,
                    created_at=created_at,
                    author=author,
                )
            ],
            generated=True,
            live=True,
        )
        if ids:
            with self._fresh_lock:
                fresh = self._fresh.setdefault(user_id, [])
                fresh.extend(ids)
                del fresh[:-64]  # a flood of turns nobody recalled: keep the newest
        return ids

    def settle(self, user_id: str, timeout: float = 3.0) -> bool:
        """Wait (at most `timeout` s) until this user's live turns remembered so far are
        embedded and indexed, so the next turn's recall finds a fact told the moment
        before by meaning too, not only by its words. True when nothing is left waiting;
        on a timeout the recall still runs (keyword search sees every stored row)."""
        with self._fresh_lock:
            ids = self._fresh.pop(user_id, [])
        # waited for once only: a stalled embedder must not slow every later turn
        return not ids or self.ingest.wait_for(ids, timeout)

    def remember_turns(
        self,
        turns: Sequence[TurnIn],
        generated: bool = False,
        after_commit: Callable[[Callable[[], None]], None] | None = None,
    ) -> list[int]:
        """Bulk form for imports: one transaction; already-remembered messages and empty
        turns or bare acknowledgements are skipped. Imported history may be two people
        talking, so refusal/error rules apply only with `generated=True` (model replies).

        Called inside the caller's transaction (the one that stores the messages), the
        rows join it: messages and the memories to embed commit together, and a process
        killed before the vectors are made resumes them at the next start (the durable
        embedding backlog: rows without a current vector). Pass `after_commit` then, so
        the embedder is handed the ids only once they are committed."""
        return self._remember(turns, generated, after_commit)

    def _remember(
        self,
        turns: Sequence[TurnIn],
        generated: bool,
        after_commit: Callable[[Callable[[], None]], None] | None = None,
        live: bool = False,
    ) -> list[int]:
        keep = list(turns)
        if self.config.skip_unworthy:
            keep = [t for t in keep if skip_reason(t.text, t.role, generated) is None]
            self._not_remembered += len(turns) - len(keep)
        unnamed = [i for i, t in enumerate(keep) if not t.author]
        if unnamed:
            found = self.authors.resolve(
                [
                    TurnRef(keep[i].message_id, keep[i].role, keep[i].user_id, keep[i].persona_id)
                    for i in unnamed
                ]
            )
            for i, author in zip(unnamed, found, strict=True):
                if author:
                    keep[i] = keep[i].model_copy(update={"author": author})
        ids = self.store.add_turns(keep, self.config.chunk_max_chars)
        if after_commit is not None:
            after_commit(lambda: self.ingest.enqueue(ids))
        elif live:
            self.ingest.enqueue_live(ids)
        else:
            self.ingest.enqueue(ids)
        return ids

    def forget_messages(self, user_id: str, message_ids: Sequence[str]) -> int:
        """Forget the memories of chat messages that no longer exist (a reply regenerated
        over, a message edited away); returns how many memories went. See
        `SqliteMemoryStore.forget_messages` for what happens to summaries and facts."""
        self.profile.store.forget_messages(user_id, message_ids)
        ids = self.store.forget_messages(user_id, message_ids)
        if ids:
            self.index.remove(ids)
            self.keeper.note_changes(len(ids))
        return len(ids)

    def add_memories(self, items: Sequence[NewMemory]) -> list[int]:
        """Bulk add (manual notes, facts, memory import); all or nothing."""
        ids = self.store.add(items, self.config.chunk_max_chars)
        self.ingest.enqueue(ids)
        return ids

    def add_memory(self, item: NewMemory) -> MemoryItem:
        """POST /api/memory: one memory, stored whole (a note is not chunked)."""
        ids = self.store.add([item])
        self.ingest.enqueue(ids)
        stored = self.store.get(ids[0], item.user_id)
        assert stored is not None
        return stored

    # ----- CRUD ---------------------------------------------------------------------------

    def get(self, memory_id: int, user_id: str) -> MemoryItem | None:
        return self.store.get(memory_id, user_id)

    def update(self, memory_id: int, user_id: str, patch: MemoryPatch) -> MemoryItem | None:
        """PUT /api/memory/{id}; None when it does not exist or is not the user's."""
        item = self.store.update(memory_id, user_id, patch)
        if item is not None and patch.text is not None:
            self.index.remove([memory_id])
            self.keeper.note_changes(1)
            self.ingest.enqueue([memory_id])
        return item

    def pin(self, memory_id: int, user_id: str, pinned: bool = True) -> MemoryItem | None:
        return self.update(memory_id, user_id, MemoryPatch(pinned=pinned))

    def delete(self, memory_id: int, user_id: str) -> bool:
        deleted = self.store.delete(memory_id, user_id)
        if deleted:
            self.index.remove([memory_id])
            self.keeper.note_changes(1)
        return deleted

    def delete_user(self, user_id: str) -> int:
        return self.delete_user_data(user_id, lambda step: step())["memories"]

    # ----- the user's data (the app's UserDataOwner protocol) -----------------------------

    data_tables: tuple[str, ...] = ("memories", "memory_consolidation_windows")

    def count_user_data(self, user_id: str) -> dict[str, int]:
        return {"memories": self.store.stats(user_id)[0]}

    def export_user_data(self, user_id: str) -> dict[str, Any]:
        return {"memories": json.loads(self.export_memories(user_id))["memories"]}

    def delete_user_data(
        self, user_id: str, after_commit: Callable[[Callable[[], None]], None]
    ) -> dict[str, int]:
        """Forget every memory of the user (inside the caller's transaction); the vector
        index follows once the rows are gone."""
        conversations = {
            m.conversation_id for m in self.store.all_for_user(user_id) if m.conversation_id
        }
        ids = self.store.delete_user(user_id)
        self.consolidator.forget_conversations(sorted(conversations))

        def drop_vectors() -> None:
            self.index.remove(ids)
            self.keeper.note_changes(len(ids))

        after_commit(drop_vectors)
        return {"memories": len(ids)}

    def list_memories(self, user_id: str, flt: MemoryFilter | None = None) -> MemoryPage:
        return self.store.list_memories(user_id, flt or MemoryFilter())

    def stats(self, user_id: str | None = None) -> MemoryStats:
        total, by_kind, pinned = self.store.stats(user_id)
        return MemoryStats(
            total=total,
            by_kind=by_kind,
            pinned=pinned,
            index_size=self.index.size,
            pending_embeddings=self.store.count_pending(self.vector_key),
            last_consolidation_at=self.consolidator.last_finished_at(),
        )

    # ----- retrieval ----------------------------------------------------------------------

    def search(self, query: MemoryQuery) -> list[MemoryHit]:
        return self.retriever.search(query)

    def prompt_lines(
        self,
        user_id: str,
        persona_id: str | None,
        query: str,
        k: int | None = None,
        token_budget: int | None = None,
    ) -> list[str]:
        """Memories for the prompt's memory slot: short strings within the token budget."""
        hits = self.retriever.search(
            MemoryQuery(
                user_id=user_id,
                persona_id=persona_id,
                query=query,
                k=k,
                token_budget=token_budget or self.config.token_budget,
            )
        )
        return [format_memory_line(h, self.config.max_prompt_chars) for h in hits]

    # ----- export -------------------------------------------------------------------------

    def export_memories(self, user_id: str) -> bytes:
        """GET /api/memory/export: {"format": "ikar.memories", "version": 1, "memories": [...]}."""
        items = [
            item.model_dump(exclude={"embedding_model"})
            for item in self.store.all_for_user(user_id)
        ]
        doc = {
            "format": "ikar.memories",
            "version": 1,
            "exported_at": time.time(),
            "memories": items,
        }
        return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")

    # ----- consolidation ------------------------------------------------------------------

    def start_consolidation(self, user_id: str | None = None) -> bool:
        return self.consolidator.start(user_id)

    def cancel_consolidation(self) -> bool:
        return self.consolidator.cancel()

    def consolidation_status(self) -> ConsolidationStatus:
        return self.consolidator.status()

    # ----- async views (the API and the UI await these; the work runs in a thread) ---------

    async def search_async(self, query: MemoryQuery) -> list[MemoryHit]:
        return await asyncio.to_thread(self.search, query)

    async def get_async(self, memory_id: int, user_id: str) -> MemoryItem | None:
        return await asyncio.to_thread(self.get, memory_id, user_id)

    async def add_memory_async(self, item: NewMemory) -> MemoryItem:
        return await asyncio.to_thread(self.add_memory, item)

    async def update_async(
        self, memory_id: int, user_id: str, patch: MemoryPatch
    ) -> MemoryItem | None:
        return await asyncio.to_thread(self.update, memory_id, user_id, patch)

    async def pin_async(self, memory_id: int, user_id: str, pinned: bool) -> MemoryItem | None:
        return await asyncio.to_thread(self.pin, memory_id, user_id, pinned)

    async def delete_async(self, memory_id: int, user_id: str) -> bool:
        return await asyncio.to_thread(self.delete, memory_id, user_id)

    async def list_memories_async(self, user_id: str, flt: MemoryFilter) -> MemoryPage:
        return await asyncio.to_thread(self.list_memories, user_id, flt)

    async def export_memories_async(self, user_id: str) -> bytes:
        return await asyncio.to_thread(self.export_memories, user_id)

    async def stats_async(self, user_id: str | None = None) -> MemoryStats:
        return await asyncio.to_thread(self.stats, user_id)

    async def status_async(self) -> MemoryHealth:
        return await asyncio.to_thread(self.status)

    async def start_consolidation_async(self, user_id: str | None = None) -> bool:
        return await asyncio.to_thread(self.start_consolidation, user_id)

    async def cancel_consolidation_async(self) -> bool:
        return await asyncio.to_thread(self.cancel_consolidation)

    # ----- health -------------------------------------------------------------------------

    def status(self, exact: bool = False) -> MemoryHealth:
        """For /health. `exact=True` also compares every id (O(n), for diagnostics)."""
        sqlite_vectors = len(self.store.vector_ids(self.vector_key))
        consistent = self.keeper.is_consistent() if exact else self.index.size == sqlite_vectors
        return MemoryHealth(
            embedder=self.embedder.status(),
            embedder_name=self.embedder.name,
            index=IndexStatus(
                kind=self.config.index,
                embedding_model=self.vector_key,
                size=self.index.size,
                sqlite_vectors=sqlite_vectors,
                pending_embeddings=self.store.count_pending(self.vector_key),
                consistent=consistent,
                last_saved_at=self.index.last_saved_at,
                last_check=self.keeper.last_check,
            ),
            ingest_queue=self.ingest.pending(),
            consolidation=self.consolidator.status(),
            reembed=self.reembed_status(),
            not_remembered=self._not_remembered,
            embedding_backlog=self.store.count_pending(self.vector_key),
            profile=self.profile.status(),
            schedule=self.schedule.status(),
        )


def build_memory(
    db: Database,
    config: MemoryConfig,
    data_dir: Path,
    summarize: Summarize | None = None,
    count_tokens: CountTokens | None = None,
    embedder: Embedder | None = None,
    ask_model: AskModel | None = None,
) -> MemoryService:
    """The factory the composition root calls; `start()` it before serving. `ask_model`
    lets the profile extractor ask the local model for facts (JSON-schema constrained)."""
    return MemoryService(
        db,
        config,
        data_dir,
        embedder=embedder,
        summarize=summarize,
        count_tokens=count_tokens,
        ask_model=ask_model,
    )
