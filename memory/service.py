"""`MemoryService`: the one object the app holds for long-term memory.

It wires the store (SQLite, source of truth), the embedder, the FAISS index and its keeper,
the ingest writer thread, the hybrid retriever and the consolidator, and exposes what the
REST API, the chat pipeline and the UI need. Build it with `build_memory(...)`, call
`start()` once (startup consistency check + writer thread) and `close()` on shutdown.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.storage.database import Database
from memory.config import MemoryConfig
from memory.consolidation import Consolidator, Summarize
from memory.embedders.factory import build_embedder
from memory.index_keeper import IndexKeeper
from memory.ingest import IngestQueue
from memory.protocols import Embedder
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
    ) -> None:
        self.config = config
        self.store = SqliteMemoryStore(db)
        self.embedder: Embedder = embedder or build_embedder(config)
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
            self.embedder.name,
            save_every=config.index_save_every,
            save_interval_s=config.index_save_interval_s,
        )
        self.ingest = IngestQueue(
            self.store,
            self.embedder,
            self.keeper,
            batch_size=config.embed_batch_size,
            idle_unload_s=config.embedder_idle_unload_s,
        )
        self.retriever = HybridRetriever(
            self.store, self.index, self.embedder, config, count_tokens=count_tokens, clock=clock
        )
        self.consolidator = Consolidator(
            self.store,
            self.index,
            config.consolidation,
            summarize,
            on_new_memories=self.ingest.enqueue,
            on_removed=self.index.remove,
            embedding_model=self.embedder.name,
            clock=clock,
        )
        self._started = False

    # ----- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Check the index against SQLite (rebuild if needed), queue rows lacking vectors,
        start the writer thread. Returns the check's verdict (also in `status()`)."""
        verdict = self.keeper.startup_check()
        self.ingest.start()
        self.ingest.enqueue(self.store.pending_ids(self.embedder.name))
        self._started = True
        return verdict

    def close(self) -> None:
        """Stop background work and save the index (SQLite needs nothing: every write is
        committed when acknowledged)."""
        self.consolidator.cancel()
        self.consolidator.wait(30)
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
    ) -> list[int]:
        """Store a chat turn now (durable on return), embed and index it in the background."""
        return self.remember_turns(
            [
                TurnIn(
                    user_id=user_id,
                    persona_id=persona_id,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    role=role,
                    text=text,
                    created_at=created_at,
                )
            ]
        )

    def remember_turns(self, turns: Sequence[TurnIn]) -> list[int]:
        """Bulk form for imports: one transaction; already-remembered messages are skipped."""
        ids = self.store.add_turns(turns, self.config.chunk_max_chars)
        self.ingest.enqueue(ids)
        return ids

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
            pending_embeddings=self.store.count_pending(self.embedder.name),
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
        sqlite_vectors = len(self.store.vector_ids(self.embedder.name))
        consistent = self.keeper.is_consistent() if exact else self.index.size == sqlite_vectors
        return MemoryHealth(
            embedder=self.embedder.status(),
            embedder_name=self.embedder.name,
            index=IndexStatus(
                kind=self.config.index,
                embedding_model=self.embedder.name,
                size=self.index.size,
                sqlite_vectors=sqlite_vectors,
                pending_embeddings=self.store.count_pending(self.embedder.name),
                consistent=consistent,
                last_saved_at=self.index.last_saved_at,
                last_check=self.keeper.last_check,
            ),
            ingest_queue=self.ingest.pending(),
            consolidation=self.consolidator.status(),
        )


def build_memory(
    db: Database,
    config: MemoryConfig,
    data_dir: Path,
    summarize: Summarize | None = None,
    count_tokens: CountTokens | None = None,
    embedder: Embedder | None = None,
) -> MemoryService:
    """The factory the composition root calls; `start()` it before serving."""
    return MemoryService(
        db, config, data_dir, embedder=embedder, summarize=summarize, count_tokens=count_tokens
    )
