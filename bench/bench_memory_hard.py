"""Recall on the hard memory set (bench/data/memory_hard.json, from bench/gen_memory_hard.py).

    python -m bench.bench_memory_hard                 # service path, all modes
    python -m bench.bench_memory_hard --rest          # through the real REST API (import + search)
    python -m bench.bench_memory_hard --by category   # also a breakdown (category|shape|lang)

Service path: every conversation goes in through `MemoryService.remember_turns` (what the chat
pipeline and the conversation import call), with the speaker as the author, and every
question through `MemoryService.search` (what `POST /api/memory/search` calls), in keyword,
dense, hybrid (plain reciprocal rank fusion, equal weights, rrf_k 60: the old default) and
final (the shipped `MemoryConfig()`) modes. REST path: the app is built as in production
(`build_services` + `create_app`), each conversation is uploaded to
`POST /api/conversations/import` in the plain speaker/text/timestamp format, questions go to
`POST /api/memory/search`. Recall@k: the share of questions with an evidence turn in the top k.

Embeddings are cached in bench/out/ (see bench/embed_cache.py): the first run embeds ~3,400
turns (minutes on 2 cores), reruns take seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "memory_hard.json"
CACHE = ROOT / "bench" / "out" / "embed-cache.sqlite"
KS = (1, 5, 10, 20)

from app.storage.database import Database  # noqa: E402
from bench.embed_cache import CachedEmbedder  # noqa: E402
from memory import MemoryConfig, MemoryQuery, MemoryService, RetrievalWeights, TurnIn  # noqa: E402
from memory.embedders import build_embedder  # noqa: E402
from memory.retriever import HybridRetriever  # noqa: E402

PLAIN_RRF = RetrievalWeights(
    dense=1.0, keyword=1.0, rrf_k=60, recency=0.05, author=0.0, coverage=0.0
)


def load(path: Path = DATA) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))  # type: ignore[no-any-return]


def turns_of(data: dict[str, Any], with_author: bool = True) -> list[TurnIn]:
    has_author = "author" in TurnIn.model_fields
    out = []
    for c in data["conversations"]:
        for m in c["messages"]:
            extra = {"author": m["speaker"]} if (has_author and with_author) else {}
            out.append(
                TurnIn(
                    user_id=c["user_id"],
                    persona_id=None,
                    conversation_id=c["id"],
                    message_id=m["id"],
                    role=m["role"],
                    text=m["text"],
                    created_at=m["created_at"],
                    **extra,
                )
            )
    return out


def ingest(
    tmp: Path, data: dict[str, Any], config: MemoryConfig, embedder: Any, with_author: bool = True
) -> MemoryService:
    asked_at = data["questions"][0]["asked_at"]
    db = Database(tmp / "bench.db")
    svc = MemoryService(db, config, tmp, embedder=embedder, clock=lambda: asked_at)
    svc.start()
    turns = turns_of(data, with_author)
    for c in data["conversations"]:  # one call per conversation, as an import does
        svc.remember_turns([t for t in turns if t.conversation_id == c["id"]])
    if not svc.wait_until_indexed(3600):
        raise RuntimeError("embedding did not finish")
    return svc


Ranker = Callable[[dict[str, Any]], list[str]]


def service_ranker(
    svc: MemoryService, mode: str, retriever: HybridRetriever | None = None
) -> Ranker:
    search = (retriever or svc.retriever).search

    def rank(q: dict[str, Any]) -> list[str]:
        hits = search(
            MemoryQuery(
                user_id=q["user_id"],
                query=q["question"],
                k=max(KS),
                mode=mode,  # type: ignore[arg-type]
                with_context=False,
            )
        )
        seen: list[str] = []
        for h in hits:
            for mid in h.source_message_ids:
                if mid not in seen:
                    seen.append(mid)
        return seen

    return rank


def retriever_with(svc: MemoryService, config: MemoryConfig) -> HybridRetriever:
    """The same store/index/embedder under another fusion config (tuning, the plain-RRF row)."""
    return HybridRetriever(
        svc.store,
        svc.index,
        svc.embedder,
        config,
        clock=svc.retriever._clock,
        vector_key=svc.vector_key,
    )


def evaluate(questions: Sequence[dict[str, Any]], rank: Ranker) -> dict[str, Any]:
    found = {k: 0 for k in KS}
    all10 = 0.0
    per_q: list[int | None] = []
    lat: list[float] = []
    for q in questions:
        t = time.perf_counter()
        ranked = rank(q)
        lat.append((time.perf_counter() - t) * 1000)
        want = set(q["evidence"])
        positions = [i for i, mid in enumerate(ranked) if mid in want]
        first = positions[0] if positions else None
        per_q.append(first)
        for k in KS:
            found[k] += first is not None and first < k
        all10 += len({ranked[i] for i in positions if i < 10}) / len(want)
    n = max(1, len(questions))
    return {
        "n": len(questions),
        **{f"r@{k}": found[k] / n for k in KS},
        "all@10": all10 / n,
        "p50_ms": statistics.median(lat) if lat else 0.0,
        "first": per_q,
    }


def row(name: str, res: dict[str, Any]) -> str:
    cells = " | ".join(f"{res[f'r@{k}']:.3f}" for k in KS)
    return f"| {name} | {res['n']} | {cells} | {res['all@10']:.3f} |"


HEADER = (
    "| mode | questions | R@1 | R@5 | R@10 | R@20 | all evidence @10 |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


def report(
    questions: list[dict[str, Any]], rankers: dict[str, Ranker], by: str | None
) -> dict[str, dict[str, Any]]:
    results = {name: evaluate(questions, r) for name, r in rankers.items()}
    print(HEADER)
    for name, res in results.items():
        print(row(name, res))
    if by:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, q in enumerate(questions):
            groups[q[by]].append(i)
        print(f"\nrecall@10 by {by}:")
        print("| " + by + " | n | " + " | ".join(results) + " |")
        print("|---|---:|" + "---:|" * len(results))
        for g, idx in sorted(groups.items()):
            cells = []
            for res in results.values():
                hit = sum(1 for i in idx if res["first"][i] is not None and res["first"][i] < 10)
                cells.append(f"{hit / len(idx):.2f}")
            print(f"| {g} | {len(idx)} | " + " | ".join(cells) + " |")
    return results


def run_service(args: argparse.Namespace) -> None:
    data = load(args.data)
    questions = [q for q in data["questions"] if args.shape in (None, q["shape"])]
    config = MemoryConfig()
    embedder = CachedEmbedder(build_embedder(config), CACHE)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        svc = ingest(Path(tmp), data, config, embedder, with_author=not args.no_author)
        turns = sum(len(c["messages"]) for c in data["conversations"])
        print(
            f"ingested {turns} turns in {time.perf_counter() - t:.1f} s"
            f" (embedding cache: {embedder.hits} hits, {embedder.misses} misses)"
        )
        plain = retriever_with(svc, config.model_copy(update={"weights": PLAIN_RRF}))
        rankers = {
            "keyword": service_ranker(svc, "keyword"),
            "dense": service_ranker(svc, "dense"),
            "hybrid (plain RRF)": service_ranker(svc, "hybrid", plain),
            "final": service_ranker(svc, "hybrid"),
        }
        results = report(questions, rankers, args.by)
        if args.failures:
            texts = {m["id"]: m for c in data["conversations"] for m in c["messages"]}
            missed = [q for q, f in zip(questions, results["final"]["first"], strict=True)
                      if f is None or f >= 10]  # fmt: skip
            print(f"\n{len(missed)} questions without evidence in the final top 10:")
            for q in missed[: args.failures]:
                ev = " / ".join(f"{texts[e]['speaker']}: {texts[e]['text']}" for e in q["evidence"])
                print(f"- [{q['category']}] {q['question']}\n    want: {ev}")
        svc.close()


def run_rest(args: argparse.Namespace) -> None:
    from fastapi.testclient import TestClient

    from app.composition import build_services
    from app.factory import create_app
    from config.settings import Settings

    data = load(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=Path(tmp) / "data", llm_preload=False, language="en"
        )
        services = build_services(settings)
        app = create_app(settings, services)
        logging.disable(logging.INFO)  # one access-log line per request would drown the table
        where: dict[tuple[str, str], str] = {}  # (conversation, text) -> our message id
        with TestClient(app) as client:
            t = time.perf_counter()
            for c in data["conversations"]:
                if args.shape not in (None, c["shape"]):
                    continue
                doc = [
                    {"speaker": m["speaker"], "text": m["text"], "timestamp": m["created_at"]}
                    for m in c["messages"]
                ]
                res = client.post(
                    "/api/conversations/import",
                    files={"file": ("chat.json", json.dumps(doc, ensure_ascii=False).encode())},
                    data={"format": "plain", "user_id": c["user_id"]},
                )
                res.raise_for_status()
                conv = res.json()["conversation_id"]
                for m in c["messages"]:
                    where.setdefault((conv, m["text"]), m["id"])
            services.memory.wait_until_indexed(3600)
            print(f"imported through REST in {time.perf_counter() - t:.1f} s")

            def rest_ranker(mode: str) -> Ranker:
                def rank(q: dict[str, Any]) -> list[str]:
                    res = client.post(
                        "/api/memory/search",
                        json={
                            "query": q["question"],
                            "k": max(KS),
                            "mode": mode,
                            "user_id": q["user_id"],
                        },
                    )
                    res.raise_for_status()
                    return [
                        where.get((h["conversation_id"], h["text"]), "?")
                        for h in res.json()["items"]
                    ]

                return rank

            questions = [q for q in data["questions"] if args.shape in (None, q["shape"])]
            report(
                questions,
                {m: rest_ranker(m) for m in ("keyword", "dense", "hybrid")},
                args.by,
            )
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rest", action="store_true", help="through the real REST API")
    parser.add_argument("--by", choices=("category", "shape", "lang"), default=None)
    parser.add_argument("--shape", choices=("companion", "dialog"), default=None)
    parser.add_argument("--no-author", action="store_true", help="ingest without speakers")
    parser.add_argument("--failures", type=int, default=0, help="print N missed questions")
    args = parser.parse_args()
    (run_rest if args.rest else run_service)(args)


if __name__ == "__main__":
    main()
