"""Sweep the fusion knobs on the hard memory set without re-running the searches.

    python -m bench.tune_memory_fusion [--context 0|1] [--top 15]

Ingests bench/data/memory_hard.json through `MemoryService` once (cached embeddings), takes
each question's dense and keyword candidate lists from the service's own retriever
(`dense_candidates`, `keyword_search`: the same calls `search` makes), then re-ranks them
with `memory.fusion.fuse` (the retriever's own arithmetic) for every point of the grid.
Prints recall@1/5/10 overall and recall@10 on the companion and dialog (LoCoMo-shaped) halves
separately, so a setting that only helps one shape is visible.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bench_memory_hard import CACHE, ingest, load
from bench.embed_cache import CachedEmbedder
from memory import MemoryConfig, RetrievalWeights
from memory.embedders import build_embedder
from memory.fts_query import coverage, query_terms
from memory.fusion import Candidate, fuse
from memory.retriever import HybridRetriever


@dataclass
class Pools:
    question: dict[str, Any]
    dense: list[int]
    keyword: list[int]
    meta: dict[int, Candidate]
    message: dict[int, str]
    text: dict[int, str]


def collect(
    data: dict[str, Any], config: MemoryConfig, depth: int, author_kw: float
) -> list[Pools]:
    embedder = CachedEmbedder(build_embedder(config), CACHE)
    out: list[Pools] = []
    with tempfile.TemporaryDirectory() as tmp:
        svc = ingest(Path(tmp), data, config, embedder)
        r: HybridRetriever = svc.retriever
        for q in data["questions"]:
            ns = r.namespace(q["user_id"], None)
            dense = [i for i, _ in r.dense_candidates(ns, r.query_vector(q["question"]), depth)]
            keyword = [i for i, _ in svc.store.keyword_search(ns, q["question"], depth, author_kw)]
            items = svc.store.get_many(list(set(dense) | set(keyword)))
            meta = {
                mid: Candidate(mid, it.created_at, it.importance, it.pinned, it.author)
                for mid, it in items.items()
            }
            message = {mid: it.message_id or "" for mid, it in items.items()}
            text = {mid: " ".join(it.text.lower().split()) for mid, it in items.items()}
            terms = query_terms(q["question"])
            cover = {
                mid: coverage(terms, f"{it.author or ''} {it.text}") for mid, it in items.items()
            }
            meta = {
                mid: dataclasses.replace(c, keyword_coverage=cover[mid]) for mid, c in meta.items()
            }
            out.append(Pools(q, dense, keyword, meta, message, text))
        svc.close()
    return out


def score(
    pools: list[Pools], w: RetrievalWeights, candidates: int, mode: str = "hybrid"
) -> dict[str, float]:
    hits = {1: 0, 5: 0, 10: 0}
    shape10 = {"companion": [0, 0], "dialog": [0, 0]}
    for p in pools:
        dense = p.dense[:candidates] if mode != "keyword" else []
        keyword = p.keyword[:candidates] if mode != "dense" else []
        dr = {m: i for i, m in enumerate(dense, 1)}
        kr = {m: i for i, m in enumerate(keyword, 1)}
        cands = [
            dataclasses.replace(p.meta[m], dense_rank=dr.get(m), keyword_rank=kr.get(m))
            for m in set(dr) | set(kr)
        ]
        ranked = fuse(
            cands,
            w,
            p.question["asked_at"],
            mode != "keyword",
            mode != "dense",
            p.question["question"],
        )
        # the retriever drops repeated texts before cutting to k; so does this
        seen: set[str] = set()
        unique = []
        for _, m in ranked:
            if p.text[m] not in seen:
                seen.add(p.text[m])
                unique.append(m)
        want = set(p.question["evidence"])
        first = next((i for i, m in enumerate(unique) if p.message[m] in want), None)
        for k in hits:
            hits[k] += first is not None and first < k
        s = shape10[p.question["shape"]]
        s[0] += first is not None and first < 10
        s[1] += 1
    n = len(pools)
    return {
        "r1": hits[1] / n,
        "r5": hits[5] / n,
        "r10": hits[10] / n,
        "companion": shape10["companion"][0] / max(1, shape10["companion"][1]),
        "dialog": shape10["dialog"][0] / max(1, shape10["dialog"][1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--context", type=int, default=0)
    parser.add_argument("--author-kw", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--report", action="store_true", help="one-knob-at-a-time table around the default"
    )
    args = parser.parse_args()
    data = load()
    config = MemoryConfig(embed_context_turns=args.context)
    pools = collect(data, config, 100, args.author_kw)

    def show(name: str, res: dict[str, float]) -> None:
        print(
            f"{name:<62} R@1 {res['r1']:.3f} R@5 {res['r5']:.3f} R@10 {res['r10']:.3f}"
            f" | companion {res['companion']:.3f} dialog {res['dialog']:.3f}"
        )

    base = RetrievalWeights(recency=0.0, importance=0.0)
    show("keyword", score(pools, base, 50, "keyword"))
    show("dense", score(pools, base, 50, "dense"))
    plain = RetrievalWeights(rrf_k=60, recency=0.05, author=0.0, coverage=0.0)
    show("plain RRF (1:1, k=60, cand 50, recency .05)", score(pools, plain, 50))
    if args.report:
        shipped = MemoryConfig().weights
        show("shipped default", score(pools, shipped, MemoryConfig().candidates))
        for k in (1, 2, 5, 10, 20, 60):
            show(f"rrf_k {k}", score(pools, shipped.model_copy(update={"rrf_k": k}), 50))
        for wd in (0.5, 0.75, 1.25, 1.5, 2.0):
            show(f"dense weight {wd}", score(pools, shipped.model_copy(update={"dense": wd}), 50))
        for cand in (10, 20, 100):
            show(f"candidates {cand}", score(pools, shipped, cand))
        for rec in (0.0, 0.1, 0.2):
            show(f"recency {rec}", score(pools, shipped.model_copy(update={"recency": rec}), 50))
        for cov in (0.5, 1.0, 2.0, 3.0):
            show(f"coverage {cov}", score(pools, shipped.model_copy(update={"coverage": cov}), 50))
            for k in (5, 20, 60):
                w = shipped.model_copy(update={"coverage": cov, "rrf_k": k})
                show(f"coverage {cov} rrf_k {k}", score(pools, w, 50))
        for auth in (0.0, 0.3, 0.5):
            show(
                f"author bonus {auth}",
                score(pools, shipped.model_copy(update={"author": auth}), 50),
            )
        return
    grid = itertools.product(
        (0.6, 0.8, 1.0, 1.25, 1.5, 2.0),  # dense weight (keyword = 1)
        (5, 10, 20, 60),  # rrf_k
        (20, 50, 100),  # candidates
        (0.0, 0.02, 0.05),  # recency
        (0.0, 0.1, 0.2),  # author named in the query
    )
    results = []
    for wd, k, cand, rec, auth in grid:
        w = RetrievalWeights(
            dense=wd, keyword=1.0, rrf_k=k, recency=rec, importance=0.0, author=auth
        )
        res = score(pools, w, cand)
        results.append(
            (res["r10"] + 0.5 * res["r5"] + 0.25 * res["r1"], wd, k, cand, rec, auth, res)
        )
    results.sort(key=lambda x: -x[0])
    for _, wd, k, cand, rec, auth, res in results[: args.top]:
        show(f"dense {wd} k {k} cand {cand} recency {rec} author {auth}", res)


if __name__ == "__main__":
    main()
