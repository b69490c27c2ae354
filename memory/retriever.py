"""`HybridRetriever`: dense + keyword search fused, weighted, de-duplicated and budgeted.

Steps: (1) dense candidates from FAISS, over-fetched and filtered by SQLite to the query's
namespace (users never see each other's memories), re-scored exactly against the vectors
stored in SQLite; (2) keyword candidates from FTS5/BM25 inside the namespace; (3) pinned
memories always join the pool; (4) reciprocal rank fusion, plus small recency, importance
and pinned bonuses; (5) near-duplicates dropped; (6) neighbouring turns attached as context;
(7) cut to k and to the token budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from memory.config import MemoryConfig
from memory.protocols import Embedder, Vectors
from memory.sqlite_store import SqliteMemoryStore
from memory.types import MemoryHit, MemoryItem, MemoryQuery, Namespace
from memory.vector_index import FaissVectorIndex

CountTokens = Callable[[str], int]


def approx_tokens(text: str) -> int:
    """chars/4: close enough for budgeting when no tokenizer is injected."""
    return max(1, len(text) // 4)


class HybridRetriever:
    def __init__(
        self,
        store: SqliteMemoryStore,
        index: FaissVectorIndex,
        embedder: Embedder,
        config: MemoryConfig,
        count_tokens: CountTokens | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._index = index
        self._embedder = embedder
        self._config = config
        self._count_tokens = count_tokens or approx_tokens
        self._clock = clock

    def namespace(self, user_id: str, persona_id: str | None) -> Namespace:
        """Shared mode ignores the persona; persona mode scopes to it (plus user-wide)."""
        if self._config.namespace == "shared":
            return Namespace(user_id=user_id, persona_id=None)
        return Namespace(user_id=user_id, persona_id=persona_id)

    # ----- candidate generation -----------------------------------------------------------

    def dense_candidates(
        self, ns: Namespace, query_vector: Vectors, limit: int
    ) -> list[tuple[int, float]]:
        """Top `limit` (id, cosine) inside the namespace, exact scores from SQLite vectors."""
        size = self._index.size
        if size == 0:
            return []
        fetch = min(size, limit * 4)
        while True:
            hits = self._index.search(query_vector, fetch)
            allowed = self._store.filter_namespace([i for i, _ in hits], ns)
            if len(allowed) >= limit or fetch >= size:
                break
            fetch = min(size, fetch * 4)
        vectors = self._store.vectors(list(allowed), self._embedder.name)
        scored = [(mid, float(vec @ query_vector)) for mid, vec in vectors.items()]
        scored.sort(key=lambda x: -x[1])
        return scored[:limit]

    # ----- the search ---------------------------------------------------------------------

    def search(self, query: MemoryQuery) -> list[MemoryHit]:
        cfg = self._config
        w = cfg.weights
        ns = self.namespace(query.user_id, query.persona_id)
        k = query.k or cfg.default_k
        limit = max(cfg.candidates, k)

        dense: list[tuple[int, float]] = []
        query_vector: Vectors | None = None
        if query.mode in ("hybrid", "dense") and query.query.strip():
            query_vector = self._embedder.embed_queries([query.query])[0]
            dense = self.dense_candidates(ns, query_vector, limit)
        keyword: list[tuple[int, float]] = []
        if query.mode in ("hybrid", "keyword"):
            keyword = self._store.keyword_search(ns, query.query, limit)
        pinned = self._store.pinned_ids(ns, limit)

        dense_rank = {mid: r for r, (mid, _) in enumerate(dense, start=1)}
        keyword_rank = {mid: r for r, (mid, _) in enumerate(keyword, start=1)}
        pool = set(dense_rank) | set(keyword_rank) | set(pinned)
        items = self._store.get_many(list(pool))

        active_w = (w.dense if query.mode != "keyword" else 0.0) + (
            w.keyword if query.mode != "dense" else 0.0
        )
        norm = (active_w or 1.0) / (w.rrf_k + 1)
        now = self._clock()
        scored: list[tuple[float, MemoryItem]] = []
        for mid, item in items.items():
            rrf = 0.0
            if mid in dense_rank:
                rrf += w.dense / (w.rrf_k + dense_rank[mid])
            if mid in keyword_rank:
                rrf += w.keyword / (w.rrf_k + keyword_rank[mid])
            age_days = max(0.0, now - item.created_at) / 86400.0
            score = (
                rrf / norm
                + w.recency * 0.5 ** (age_days / w.recency_half_life_days)
                + w.importance * item.importance
                + (w.pinned if item.pinned else 0.0)
            )
            scored.append((score, item))
        scored.sort(key=lambda x: (-x[0], -x[1].created_at))

        selected = self._drop_near_duplicates(scored, k * 3)
        budget = query.token_budget
        hits: list[MemoryHit] = []
        used = 0
        for score, item in selected:
            before, after = (
                self._store.neighbours(item, cfg.neighbour_turns)
                if query.with_context and item.kind == "turn"
                else ([], [])
            )
            hit = MemoryHit(
                id=item.id,
                text=item.text,
                score=round(score, 6),
                kind=item.kind,
                role=item.role,
                source_message_ids=item.source_message_ids,
                created_at=item.created_at,
                conversation_id=item.conversation_id,
                pinned=item.pinned,
                importance=item.importance,
                dense_rank=dense_rank.get(item.id),
                keyword_rank=keyword_rank.get(item.id),
                context_before=[self._short(n) for n in before],
                context_after=[self._short(n) for n in after],
            )
            if budget is not None:
                cost = self._count_tokens(format_memory_line(hit, cfg.max_prompt_chars))
                if used + cost > budget:
                    continue
                used += cost
            hits.append(hit)
            if len(hits) >= k:
                break
        return hits

    def _drop_near_duplicates(
        self, scored: list[tuple[float, MemoryItem]], keep: int
    ) -> list[tuple[float, MemoryItem]]:
        vectors = self._store.vectors(
            [item.id for _, item in scored[: keep * 2]], self._embedder.name
        )
        kept: list[tuple[float, MemoryItem]] = []
        kept_vectors: list[Vectors] = []
        kept_texts: set[str] = set()
        for score, item in scored:
            norm_text = " ".join(item.text.lower().split())
            if norm_text in kept_texts:
                continue
            vec = vectors.get(item.id)
            if vec is not None and kept_vectors:
                sims = np.vstack(kept_vectors) @ vec
                if float(sims.max()) >= self._config.near_duplicate_cosine:
                    continue
            kept.append((score, item))
            kept_texts.add(norm_text)
            if vec is not None:
                kept_vectors.append(vec)
            if len(kept) >= keep:
                break
        return kept

    def _short(self, item: MemoryItem) -> str:
        return _clip(f"{item.role or item.kind}: {item.text}", self._config.max_prompt_chars // 2)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_LABELS = {"summary": "summary", "fact": "fact", "manual": "note"}


def format_memory_line(hit: MemoryHit, max_chars: int = 300) -> str:
    """One short prompt line: `[2024-03-05] user: text (context: ...)`."""
    day = datetime.fromtimestamp(hit.created_at, tz=UTC).strftime("%Y-%m-%d")
    label = hit.role if hit.kind == "turn" and hit.role else _LABELS.get(hit.kind, hit.kind)
    line = f"[{day}] {label}: {_clip(hit.text, max_chars)}"
    context = hit.context_before + hit.context_after
    if context:
        line += " (context: " + " / ".join(context) + ")"
    return line
