"""`HybridRetriever`: dense + keyword search fused, weighted, de-duplicated and budgeted.

Steps: (1) dense candidates from FAISS, over-fetched and filtered by SQLite to the query's
namespace (users never see each other's memories), re-scored exactly against the vectors
stored in SQLite; (2) keyword candidates from FTS5/BM25 inside the namespace; (3) pinned
memories always join the pool; (4) reciprocal rank fusion, plus small recency, importance
and pinned bonuses; (5) near-duplicates dropped; (6) neighbouring turns attached as context;
(7) cut to k and to the token budget.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from memory.config import MemoryConfig
from memory.fts_query import coverage, query_terms
from memory.fusion import Candidate, fuse
from memory.protocols import Embedder, Vectors
from memory.relevance import pool_stats
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
        vector_key: str | None = None,
    ) -> None:
        self._store = store
        self._index = index
        self._embedder = embedder
        self._config = config
        self._count_tokens = count_tokens or approx_tokens
        self._clock = clock
        self._vector_key = vector_key or embedder.name
        self._query_cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_lock = threading.Lock()

    def query_vector(self, text: str) -> Vectors:
        """The query's vector, from the LRU cache when the same text was asked recently
        (a chat re-asks the same thing; the model costs ~10-20 ms a query on one core)."""
        size = self._config.query_cache_size
        with self._cache_lock:
            hit = self._query_cache.get(text)
            if hit is not None:
                self._query_cache.move_to_end(text)
                return hit
        vector = self._embedder.embed_queries([text])[0]
        if size > 0:
            with self._cache_lock:
                self._query_cache[text] = vector
                while len(self._query_cache) > size:
                    self._query_cache.popitem(last=False)
        return vector

    def namespace(self, user_id: str, persona_id: str | None) -> Namespace:
        """Shared mode ignores the persona; persona mode scopes to it (plus user-wide)."""
        if self._config.namespace == "shared":
            return Namespace(user_id=user_id, persona_id=None)
        return Namespace(user_id=user_id, persona_id=persona_id)

    # ----- candidate generation -----------------------------------------------------------

    def dense_candidates(
        self, ns: Namespace, query_vector: Vectors, limit: int
    ) -> list[tuple[int, float]]:
        """Top `limit` (id, cosine) inside the namespace, exact scores.

        A flat index scores exactly already (inner product of the very vectors SQLite
        holds), so its scores are used as they are; HNSW candidates are re-scored against
        the vectors stored in SQLite."""
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
        if self._index.kind == "flat":
            scored = [(mid, score) for mid, score in hits if mid in allowed]
        else:
            vectors = self._store.vectors(list(allowed), self._vector_key)
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
            query_vector = self.query_vector(query.query)
            dense = self.dense_candidates(ns, query_vector, limit)
        keyword: list[tuple[int, float]] = []
        if query.mode in ("hybrid", "keyword"):
            keyword = self._store.keyword_search(ns, query.query, limit, w.author_keyword)
        pinned = self._store.pinned_ids(ns, limit)

        # The relevance gate's figures were measured on full pools (the top `candidates` of
        # a user's hundreds of memories); a new user's whole small memory is another
        # distribution (small talk kept 4-5 of 6 lines against 143 memories), so a pool
        # short of `limit` is not judged (cosine_z None).
        pool = pool_stats([score for _, score in dense], full=limit)
        dense_rank = {mid: r for r, (mid, _) in enumerate(dense, start=1)}
        keyword_rank = {mid: r for r, (mid, _) in enumerate(keyword, start=1)}
        candidates = set(dense_rank) | set(keyword_rank) | set(pinned)
        meta = self._store.fusion_meta(list(candidates))
        terms = query_terms(query.query) if keyword_rank else []
        covered = {
            mid: coverage(terms, f"{author or ''} {text}")
            for mid, (_, _, _, author, text) in meta.items()
            if mid in keyword_rank
        }
        fused = fuse(
            (
                Candidate(
                    id=mid,
                    created_at=created_at,
                    importance=importance,
                    pinned=is_pinned,
                    author=author,
                    dense_rank=dense_rank.get(mid),
                    keyword_rank=keyword_rank.get(mid),
                    keyword_coverage=covered.get(mid, 1.0) if w.coverage else 1.0,
                )
                for mid, (created_at, importance, is_pinned, author, _) in meta.items()
            ),
            w,
            self._clock(),
            dense_active=query.mode != "keyword",
            keyword_active=query.mode != "dense",
            query=query.query,
        )
        # spares only when the token budget may skip some
        selected = self._drop_near_duplicates(
            fused, k * 3 if query.token_budget else k, query_vector
        )
        budget = query.token_budget
        hits: list[MemoryHit] = []
        used = 0
        for score, item, cosine in selected:
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
                author=item.author,
                source_message_ids=item.source_message_ids,
                created_at=item.created_at,
                conversation_id=item.conversation_id,
                pinned=item.pinned,
                importance=item.importance,
                dense_rank=dense_rank.get(item.id),
                keyword_rank=keyword_rank.get(item.id),
                cosine=None if cosine is None else round(cosine, 4),
                cosine_z=(None if cosine is None or pool is None else round(pool.z(cosine), 3)),
                keyword_coverage=(round(covered[item.id], 4) if item.id in covered else None),
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
        self, fused: list[tuple[float, int]], keep: int, query_vector: Vectors | None = None
    ) -> list[tuple[float, MemoryItem, float | None]]:
        """The best `keep` memories, skipping repeats (same text, or cosine above
        `near_duplicate_cosine` to one already kept), each with its exact cosine to the
        query (from the vector read here anyway; None without a query vector). Rows are read
        in windows of the fused order, so only the head of the ~100 candidates is loaded."""
        kept: list[tuple[float, MemoryItem, float | None]] = []
        kept_matrix = np.zeros((keep, self._embedder.dim), dtype=np.float32)
        n_vectors = 0
        kept_texts: set[str] = set()
        window = keep + 8
        for start in range(0, len(fused), window):
            part = fused[start : start + window]
            ids = [mid for _, mid in part]
            items = self._store.get_many(ids)
            vectors = self._store.vectors(ids, self._vector_key)
            for score, mid in part:
                item = items.get(mid)
                if item is None:
                    continue  # deleted meanwhile
                norm_text = " ".join(item.text.lower().split())
                if norm_text in kept_texts:
                    continue
                vec = vectors.get(mid)
                if vec is not None and n_vectors:
                    sims = kept_matrix[:n_vectors] @ vec
                    if float(sims.max()) >= self._config.near_duplicate_cosine:
                        continue
                cosine = (
                    float(vec @ query_vector)
                    if vec is not None and query_vector is not None
                    else None
                )
                kept.append((score, item, cosine))
                kept_texts.add(norm_text)
                if vec is not None:
                    kept_matrix[n_vectors] = vec
                    n_vectors += 1
                if len(kept) >= keep:
                    return kept
        return kept

    def _short(self, item: MemoryItem) -> str:
        who = item.author or item.role or item.kind
        return _clip(f"{who}: {item.text}", self._config.max_prompt_chars // 2)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_LABELS = {"summary": "summary", "fact": "fact", "manual": "note"}


def format_memory_line(hit: MemoryHit, max_chars: int = 300) -> str:
    """One short prompt line: `[2024-03-05] Anna: text (context: ...)`: who said a turn is
    part of what is remembered ("what did Anna say?")."""
    day = datetime.fromtimestamp(hit.created_at, tz=UTC).strftime("%Y-%m-%d")
    if hit.kind == "turn":
        label = hit.author or hit.role or "turn"
    else:
        label = _LABELS.get(hit.kind, hit.kind)
    line = f"[{day}] {label}: {_clip(hit.text, max_chars)}"
    context = hit.context_before + hit.context_after
    if context:
        line += " (context: " + " / ".join(context) + ")"
    return line
