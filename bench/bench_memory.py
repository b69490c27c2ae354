"""Memory benchmarks: vector search latency, approximate-vs-exact recall, ingest throughput,
and retrieval quality on the committed recall set (bench/data/memory_recall.json).

    python bench/bench_memory.py latency [--sizes 10000,100000,1000000]
    python bench/bench_memory.py quality [--embedders e5,minilm]

Latency uses clustered random 384-dim unit vectors, one thread (faiss.omp_set_num_threads(1)),
single queries through `FaissVectorIndex.search` (what the retriever calls). Quality ingests
every message of the recall set through `MemoryService.remember_turns` (the real writer thread
and embedder), then asks each question in keyword, dense and hybrid mode and reports evidence
recall@5/@10: the share of questions whose answer message is among the top k.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from app.storage.database import Database  # noqa: E402
from memory import MemoryConfig, MemoryQuery, MemoryService, TurnIn  # noqa: E402
from memory.vector_index import FaissVectorIndex  # noqa: E402

DIM = 384


def clustered(n: int, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    labels = rng.integers(0, len(centers), n)
    x = centers[labels] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM) * 4
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def bench_latency(sizes: list[int], queries: int) -> None:
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((1000, DIM)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    print("| memories | index | build s | p50 ms | p95 ms | recall@10 vs exact |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in sizes:
        data = clustered(n, rng, centers)
        qs = clustered(queries, rng, centers)
        ids = np.arange(1, n + 1, dtype=np.int64)
        batches = [(ids[i : i + 50_000], data[i : i + 50_000]) for i in range(0, n, 50_000)]
        exact: list[set[int]] = []
        for kind in ("flat", "hnsw"):
            ef_c = 80 if n <= 100_000 else 40
            index = FaissVectorIndex(DIM, kind, hnsw_m=32, ef_construction=ef_c, ef_search=64)
            t = time.perf_counter()
            index.rebuild(batches)
            build = time.perf_counter() - t
            lat: list[float] = []
            results: list[set[int]] = []
            for q in qs:
                t = time.perf_counter()
                hits = index.search(q, 10)
                lat.append((time.perf_counter() - t) * 1000)
                results.append({i for i, _ in hits})
            if kind == "flat":
                exact = results
                recall = 1.0
            else:
                recall = statistics.mean(
                    len(a & b) / 10 for a, b in zip(results, exact, strict=True)
                )
            print(
                f"| {n:,} | {kind} | {build:.1f} | {pct(lat, 50):.2f} | {pct(lat, 95):.2f} |"
                f" {recall:.3f} |",
                flush=True,
            )
            del index
        del data


def bench_quality(embedders: list[str]) -> None:
    recall_set = json.loads((ROOT / "bench" / "data" / "memory_recall.json").read_text("utf-8"))
    turns = [
        TurnIn(
            user_id=c["user_id"],
            persona_id="companion",
            conversation_id=c["id"],
            message_id=m["id"],
            role=m["role"],
            text=m["text"],
            created_at=m["created_at"],
        )
        for c in recall_set["conversations"]
        for m in c["messages"]
    ]
    questions = recall_set["questions"]
    asked_at = questions[0]["asked_at"]
    rows = []
    for name in embedders:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(Path(tmp) / "bench.db")
            svc = MemoryService(db, MemoryConfig(embedder=name), Path(tmp), clock=lambda: asked_at)
            svc.embedder.embed_passages(["warm up"])  # load time is not ingest throughput
            svc.start()
            t = time.perf_counter()
            ack: list[float] = []
            for turn in turns:
                t1 = time.perf_counter()
                svc.remember_turns([turn])
                ack.append((time.perf_counter() - t1) * 1000)
            assert svc.wait_until_indexed(600)
            ingest_s = time.perf_counter() - t
            print(
                f"{name}: ingested {len(turns)} messages in {ingest_s:.1f} s"
                f" = {len(turns) / ingest_s:.0f} memories/s (embedding included);"
                f" remember_turn returns in p50 {pct(ack, 50):.2f} ms, p95 {pct(ack, 95):.2f} ms",
                flush=True,
            )
            for mode in ("keyword", "dense", "hybrid"):
                for lang in ("en", "ru", "all"):
                    qs = [q for q in questions if lang in ("all", q["lang"])]
                    r5 = r10 = 0
                    lat: list[float] = []
                    for q in qs:
                        t1 = time.perf_counter()
                        hits = svc.search(
                            MemoryQuery(
                                user_id=q["user_id"],
                                persona_id="companion",
                                query=q["question"],
                                k=10,
                                mode=mode,
                                with_context=False,
                            )
                        )
                        lat.append((time.perf_counter() - t1) * 1000)
                        found = [m for h in hits for m in h.source_message_ids]
                        want = set(q["answer_message_ids"])
                        r5 += bool(want & set(found[:5]))
                        r10 += bool(want & set(found[:10]))
                    rows.append((name, mode, lang, r5 / len(qs), r10 / len(qs), pct(lat, 50)))
            svc.close()
            db.close()
    print("\n| embedder | mode | questions | recall@5 | recall@10 | search p50 ms |")
    print("|---|---|---|---:|---:|---:|")
    for name, mode, lang, r5, r10, p50 in rows:
        print(f"| {name} | {mode} | {lang} | {r5:.2f} | {r10:.2f} | {p50:.1f} |")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--sizes", default="10000,100000,1000000")
    lat.add_argument("--queries", type=int, default=200)
    qual = sub.add_parser("quality")
    qual.add_argument("--embedders", default="e5,minilm")
    args = parser.parse_args()
    if args.cmd == "latency":
        bench_latency([int(s) for s in args.sizes.split(",")], args.queries)
    else:
        bench_quality(args.embedders.split(","))


if __name__ == "__main__":
    main()
