"""How dense and keyword candidates become one ranking (a pure function, so the benchmark's
tuner and the retriever run the very same arithmetic).

score = w_dense / (rrf_k + dense rank) + w_keyword * coverage^c / (rrf_k + keyword rank),
normalised so a memory ranked first by every active mode scores 1 (coverage: the share of
the query's words the memory contains, so a keyword hit on one common word votes less);
then small bonuses: recency (half-life), importance, pinned, and `author` when the query
names the memory's author. The choices and their figures are in docs/memory.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from memory.config import RetrievalWeights

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(slots=True)
class Candidate:
    id: int
    created_at: float
    importance: float = 0.0
    pinned: bool = False
    author: str | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None
    keyword_coverage: float = 1.0  # share of the query's words the memory contains


def name_stems(text: str, min_len: int = 3) -> set[str]:
    """Lower-case word stems for matching names across inflections: the first
    `max(min_len, len - 2)` letters (Маша/Маши/Машей -> "маш", Nadia/Nadia's -> "nad")."""
    out: set[str] = set()
    for word in _WORD.findall(text.lower()):
        if len(word) >= min_len:
            out.add(word[: max(min_len, len(word) - 2)])
    return out


def query_names_author(query_stems: set[str], author: str | None) -> bool:
    """True when every word of the author's name appears (as a stem) in the query."""
    if not author:
        return False
    stems = name_stems(author)
    return bool(stems) and stems <= query_stems


def fuse(
    candidates: Iterable[Candidate],
    weights: RetrievalWeights,
    now: float,
    dense_active: bool,
    keyword_active: bool,
    query: str = "",
) -> list[tuple[float, int]]:
    """(score, id) best first; ties go to the newer memory."""
    w = weights
    active = (w.dense if dense_active else 0.0) + (w.keyword if keyword_active else 0.0)
    norm = (active or 1.0) / (w.rrf_k + 1)
    stems = name_stems(query) if w.author and query else set()
    # coverage re-weights keyword votes against dense ones; keyword-only mode stays BM25
    power = w.coverage if dense_active and keyword_active else 0.0
    named: dict[str | None, bool] = {}  # per distinct author, not per candidate
    scored: list[tuple[float, float, int]] = []
    for c in candidates:
        rrf = 0.0
        if c.dense_rank is not None:
            rrf += w.dense / (w.rrf_k + c.dense_rank)
        if c.keyword_rank is not None:
            rrf += w.keyword * c.keyword_coverage**power / (w.rrf_k + c.keyword_rank)
        age_days = max(0.0, now - c.created_at) / 86400.0
        score = (
            rrf / norm
            + w.recency * 0.5 ** (age_days / w.recency_half_life_days)
            + w.importance * c.importance
            + (w.pinned if c.pinned else 0.0)
        )
        if stems:
            if c.author not in named:
                named[c.author] = query_names_author(stems, c.author)
            if named[c.author]:
                score += w.author
        scored.append((score, c.created_at, c.id))
    scored.sort(key=lambda x: (-x[0], -x[1]))
    return [(score, mid) for score, _, mid in scored]


def ranks(ids: Sequence[int]) -> dict[int, int]:
    return {mid: r for r, mid in enumerate(ids, start=1)}
