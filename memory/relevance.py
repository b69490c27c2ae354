"""Is a recalled memory worth a line in the chat turn's note?

The note is read by the model on every turn (most of what a later turn evaluates), so a
memory that does not bear on the message costs time and can pull the reply off topic. The
fused score is rank-based (RRF) and says nothing absolute, and an absolute cosine does not
separate either: with e5 the evidence for a question and the best hits of small talk have
nearly the same cosines (medians 0.84 and 0.83 on the hard set). What separates is how far a
memory stands out from the query's other candidates: its cosine in standard deviations above
the mean of the dense candidate pool. A keyword hit that contains much of the message (a
name like «Барсик») passes too, and pinned memories always do. Figures:
bench/bench_recall_gate.py and docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memory.types import MemoryHit

# Fewer cosines than this have no spread worth the name, whatever a caller asks for. The
# retriever asks for more: a full pool (see `HybridRetriever.search`).
MIN_POOL = 10


@dataclass(frozen=True, slots=True)
class PoolStats:
    mean: float
    stdev: float

    def z(self, cosine: float) -> float:
        return (cosine - self.mean) / self.stdev


def pool_stats(cosines: list[float], full: int = MIN_POOL) -> PoolStats | None:
    """Mean and spread of the query's dense candidate cosines (None: fewer than `full`, so
    too few to judge)."""
    if len(cosines) < max(full, MIN_POOL):
        return None
    values = np.asarray(cosines, dtype=np.float64)  # every search: numpy, not `statistics`
    stdev = float(values.std())
    if stdev <= 1e-6:
        return None
    return PoolStats(float(values.mean()), stdev)


def worth_recalling(hit: MemoryHit, min_z: float | None, min_coverage: float | None) -> bool:
    """True when the hit stands out from the query's candidates by `min_z`, or contains at
    least `min_coverage` of the query's words, or is pinned; always True with no gate
    configured or nothing to judge by (keyword-only search, a small pool)."""
    if min_z is None or hit.pinned or hit.cosine_z is None:
        return True
    if hit.cosine_z >= min_z:
        return True
    return (
        min_coverage is not None
        and hit.keyword_coverage is not None
        and hit.keyword_coverage >= min_coverage
    )
