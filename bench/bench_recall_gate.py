"""Which recalled memories are worth a line in the chat note? Cosine, cosine above the query's
candidate pool (z) and keyword coverage of what the chat turn recalls, for questions that need
a memory and for small talk that does not.

    python -m bench.bench_recall_gate [--k 6]

Every recalled line is read by the model on every turn (issue 12: the note is most of what a
later turn evaluates), so a line that does not help the reply costs ~1-2 s on 2 cores for
nothing. This loads the hard memory set (bench/data/memory_hard.json) as
bench_memory_hard does, then asks, per conversation's user, (a) its paraphrased questions and
(b) small talk that needs no memory (bench_chat's questions and their Russian
counterparts), through the search the chat turn uses (hybrid, k+4 candidates, cut to k). For
each gate (a minimum z, or a keyword hit covering a share of the query's words) it prints the
share of questions whose evidence line survives, and the lines kept per note for both.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.bench_chat import QUESTIONS
from bench.bench_memory_hard import CACHE, DATA, ingest, load
from bench.embed_cache import CachedEmbedder
from memory import MemoryConfig, MemoryQuery, format_memory_line
from memory.embedders import build_embedder
from memory.relevance import worth_recalling
from memory.types import MemoryHit

SMALL_TALK = [
    *QUESTIONS,
    "Good morning!",
    "Thanks, that was nice.",
    "What are you doing right now?",
    "I'm a bit tired today.",
    "Can you tell me a story?",
    "Привет! Как дела?",
    "Что ты любишь делать в дождливый день?",
    "Расскажи что-нибудь про сов.",
    "Посоветуй мне книгу.",
    "Почему небо голубое?",
    "Что приготовить на ужин?",
    "Расскажи короткую шутку.",
    "Как не отвлекаться во время работы?",
    "Какое твоё любимое время года?",
    "Доброе утро!",
    "Спасибо, было приятно поболтать.",
    "Я немного устала сегодня.",
]

ZS = (None, 0.5, 1.0, 1.5, 2.0, 2.5)
COVERAGES = (None, 0.34, 0.5, 0.67)


def recall(svc: Any, user_id: str, text: str, k: int) -> list[MemoryHit]:
    """What MemoryTurnHook._recall asks for (k + 4 candidates, cut to k after history)."""
    hits: list[MemoryHit] = svc.retriever.search(
        MemoryQuery(user_id=user_id, query=text[:2000], k=k + 4)
    )
    return hits[:k]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=6)
    args = parser.parse_args()
    data = load(DATA)
    config = MemoryConfig()
    embedder = CachedEmbedder(build_embedder(config), CACHE)
    users = sorted({c["user_id"] for c in data["conversations"]})
    with tempfile.TemporaryDirectory() as tmp:
        svc = ingest(Path(tmp), data, config, embedder)
        asked = [
            (recall(svc, q["user_id"], q["question"], args.k), set(q["evidence"]))
            for q in data["questions"]
        ]
        chat = [recall(svc, u, text, args.k) for u in users for text in SMALL_TALK]
        svc.close()

    def show(name: str, xs: list[float]) -> None:
        qs = statistics.quantiles(xs, n=20)
        print(
            f"{name}: n={len(xs)} p5={qs[0]:.3f} p25={qs[4]:.3f}"
            f" median={statistics.median(xs):.3f} p75={qs[14]:.3f} p95={qs[18]:.3f}"
        )

    for field in ("cosine", "cosine_z"):

        def value(h: MemoryHit, f: str = field) -> float:
            v = getattr(h, f)
            return float(v) if v is not None else 0.0

        groups = {
            "evidence": [
                value(h) for hits, want in asked for h in hits if set(h.source_message_ids) & want
            ],
            "other hits of questions": [
                value(h)
                for hits, want in asked
                for h in hits
                if not set(h.source_message_ids) & want
            ],
            "small talk": [value(h) for hits in chat for h in hits],
        }
        for name, xs in groups.items():
            show(f"{field} of {name}", xs)
    with_evidence = sum(
        1 for hits, want in asked if any(set(h.source_message_ids) & want for h in hits)
    )
    print(
        f"\n{len(asked)} questions ({with_evidence} with evidence in the top {args.k}),"
        f" {len(chat)} small-talk messages ({len(SMALL_TALK)} x {len(users)} users)\n"
    )
    print(
        "| min z | or keyword coverage | evidence kept | lines/question | lines/small talk"
        " | note chars/question | note chars/small talk |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for min_z in ZS:
        for min_cov in COVERAGES if min_z is not None else (None,):

            def keep(h: MemoryHit, z: float | None = min_z, v: float | None = min_cov) -> bool:
                return worth_recalling(h, z, v)

            kept_ev = sum(
                1
                for hits, want in asked
                if any(set(h.source_message_ids) & want and keep(h) for h in hits)
            )
            lines_q = statistics.mean(sum(map(keep, hits)) for hits, _ in asked)
            lines_t = statistics.mean(sum(map(keep, hits)) for hits in chat)
            chars_q = statistics.mean(
                sum(len(format_memory_line(h)) for h in hits if keep(h)) for hits, _ in asked
            )
            chars_t = statistics.mean(
                sum(len(format_memory_line(h)) for h in hits if keep(h)) for hits in chat
            )
            print(
                f"| {'-' if min_z is None else min_z} | {'-' if min_cov is None else min_cov}"
                f" | {kept_ev / max(1, with_evidence):.3f} | {lines_q:.2f} | {lines_t:.2f}"
                f" | {chars_q:.0f} | {chars_t:.0f} |"
            )


if __name__ == "__main__":
    main()
