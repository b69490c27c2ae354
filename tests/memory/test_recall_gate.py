"""Which recalled memories reach the chat note: the exact cosine, its standing above the
query's candidates (z) and the keyword coverage each hit carries, and the gate built on them
(real e5; thresholds from bench/bench_recall_gate.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.gen_memory_hard import OUT as DATA
from memory import MemoryConfig, MemoryQuery, NewMemory
from memory.relevance import MIN_POOL, pool_stats, worth_recalling
from memory.types import MemoryHit
from tests.waits import CATCH_UP_S

FACTS = [
    "My cat is called Barsik, he is ginger and very lazy",
    "Моя сестра Маша живёт в Казани и работает врачом",
    "I am allergic to peanuts, even a little makes me sick",
]
NOISE = [
    "We talked about the weather and it was raining again",
    "Сегодня я ходил в магазин за хлебом",
    "I watched a documentary about octopuses",
    "The meeting moved to Thursday afternoon",
    "Мы обсуждали новый фильм про космос",
    "Кофе сегодня был слишком горячим",
    "I need to buy new running shoes",
    "Завтра обещают снег и ветер",
    "The train was late again this morning",
    "Я перечитываю старые письма из университета",
    "My laptop fan is making a strange noise",
    "В субботу мы ездили на дачу",
]


def _hit(**kw: object) -> MemoryHit:
    base: dict[str, object] = dict(
        id=1,
        text="t",
        score=1.0,
        kind="turn",
        role="user",
        source_message_ids=[],
        created_at=0.0,
        conversation_id=None,
        pinned=False,
        importance=0.5,
    )
    base.update(kw)
    return MemoryHit(**base)  # type: ignore[arg-type]


def test_the_gate_passes_standouts_word_matches_and_pins_only() -> None:
    assert worth_recalling(_hit(cosine_z=1.2), 1.0, 0.5)
    assert not worth_recalling(_hit(cosine_z=0.4), 1.0, 0.5)
    assert worth_recalling(_hit(cosine_z=0.4, keyword_coverage=0.5), 1.0, 0.5)
    assert not worth_recalling(_hit(cosine_z=0.4, keyword_coverage=0.4), 1.0, 0.5)
    assert not worth_recalling(_hit(cosine_z=0.4, keyword_coverage=0.9), 1.0, None)
    assert worth_recalling(_hit(cosine_z=-3.0, pinned=True), 1.0, 0.5)
    assert worth_recalling(_hit(cosine_z=-3.0), None, None)  # gate off
    # nothing to judge by (keyword-only search, or too few candidates): kept
    assert worth_recalling(_hit(cosine_z=None), 1.0, 0.5)


def test_pool_stats_need_enough_candidates() -> None:
    assert pool_stats([0.8] * (MIN_POOL - 1)) is None
    assert pool_stats([0.8] * MIN_POOL) is None  # no spread: nothing stands out
    stats = pool_stats([0.7, 0.9] * MIN_POOL)
    assert stats is not None and np.isclose(stats.z(0.9), 1.0)


def test_hits_carry_their_exact_cosine_and_keyword_coverage(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    svc.add_memories([NewMemory(user_id="u", text=t) for t in NOISE + FACTS])
    assert svc.wait_until_indexed(CATCH_UP_S)
    query = "What is my cat called?"
    hits = svc.search(MemoryQuery(user_id="u", query=query, k=4, with_context=False))
    q = e5.embed_queries([query])[0]
    for h in hits:
        expected = float(e5.embed_passages([h.text])[0] @ q)
        assert h.cosine is not None and np.isclose(h.cosine, expected, atol=1e-3), h
        assert h.cosine_z is None  # 15 memories: fewer than a full pool, nothing judged
    top = hits[0]
    assert top.text == FACTS[0]
    assert top.keyword_coverage is not None and top.keyword_coverage > 0  # "cat" matched
    # a dense-only search has cosines but no keyword coverage
    dense = svc.search(MemoryQuery(user_id="u", query=query, k=2, mode="dense"))
    assert all(h.cosine is not None and h.keyword_coverage is None for h in dense)


def _long_used_memory() -> list[str]:
    """A companion's memory after weeks of talk (the hard set's chats, en and ru): the gate's
    z is judged against a full pool of candidates, as in a long-used companion."""
    data = json.loads(DATA.read_text("utf-8"))
    chats = {c["id"]: c["messages"] for c in data["conversations"]}
    return [m["text"] for cid in ("comp-en-0", "comp-ru-0") for m in chats[cid]]


@pytest.mark.slow  # embeds 704 memories (~20 s on 2 cores)
def test_questions_keep_their_fact_and_small_talk_recalls_little(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    svc.add_memories([NewMemory(user_id="u", text=t) for t in _long_used_memory() + FACTS])
    assert svc.wait_until_indexed(CATCH_UP_S)
    cfg = MemoryConfig()

    def note_lines(message: str) -> list[str]:
        hits = svc.search(MemoryQuery(user_id="u", query=message, k=6, with_context=False))
        return [
            h.text for h in hits if worth_recalling(h, cfg.recall_min_z, cfg.recall_min_coverage)
        ]

    assert FACTS[0] in note_lines("Do you remember my cat's name?")
    assert FACTS[1] in note_lines("Где живёт моя сестра?")
    assert FACTS[2] in note_lines("Can I eat this peanut butter cookie?")
    # Small talk bears on none of them: of the 6 recalled, only what happens to stand out
    # from the rest passes (1.75 of 6 on average on the whole hard set), never all of it.
    talk = ("Tell me a short joke.", "Привет! Как дела?", "Why is the sky blue?", "Good night!")
    kept = [len(note_lines(t)) for t in talk]
    assert all(n <= 3 for n in kept) and sum(kept) <= 0.4 * 6 * len(talk), kept
