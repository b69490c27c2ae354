"""Hybrid retrieval (dense + BM25 fused) on a small bilingual fixture with the real e5."""

from __future__ import annotations

from memory import MemoryQuery, NewMemory
from memory.retriever import format_memory_line
from tests.waits import CATCH_UP_S

FIXTURE = [
    ("q1", "My passport number ends with 4471", "What does my passport number end with?"),
    ("q2", "Мою кошку зовут Муся, она рыжая", "Как зовут мою кошку?"),
    ("q3", "I'm flying to Lisbon on the 14th for a conference", "where am I travelling for work"),
    ("q4", "Мой начальник Пётр Иванович любит рыбалку", "чем увлекается мой начальник"),
    ("q5", "The wifi password at the cabin is otter-velvet-93", "cabin wifi password"),
    ("q6", "Я не ем глютен уже два года", "какая у меня диета"),
]
NOISE = [
    "We talked about the weather and it was raining again",
    "Сегодня я ходил в магазин за хлебом",
    "I watched a documentary about octopuses",
    "Мы обсуждали новый фильм про космос",
    "The meeting moved to Thursday afternoon",
    "Кофе сегодня был слишком горячим",
    "I need to buy new running shoes",
    "Завтра обещают снег и ветер",
]


def _recall(svc, mode: str, k: int = 3) -> int:
    found = 0
    for _, fact, question in FIXTURE:
        hits = svc.search(
            MemoryQuery(user_id="u", query=question, mode=mode, k=k, with_context=False)
        )
        found += any(h.text == fact for h in hits)
    return found


def test_hybrid_recall_at_least_each_single_mode(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    svc.add_memories([NewMemory(user_id="u", text=t) for t in NOISE])
    svc.add_memories([NewMemory(user_id="u", text=fact) for _, fact, _ in FIXTURE])
    assert svc.wait_until_indexed(CATCH_UP_S)
    dense, keyword, hybrid = (_recall(svc, m) for m in ("dense", "keyword", "hybrid"))
    assert hybrid >= max(dense, keyword), (dense, keyword, hybrid)
    assert hybrid == len(FIXTURE)


def test_hits_carry_provenance_context_and_fit_budget(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    base = 1_700_000_000.0
    turns = [
        ("m1", "user", "Guess what, I adopted a puppy yesterday!"),
        ("m2", "assistant", "Congratulations! What is its name?"),
        ("m3", "user", "His name is Biscuit and he is a beagle."),
        ("m4", "assistant", "Biscuit the beagle, lovely."),
    ]
    for i, (mid, role, text) in enumerate(turns):
        svc.remember_turn("u", "p", "conv", mid, role, text, base + i * 10)
    assert svc.wait_until_indexed(CATCH_UP_S)
    hits = svc.search(
        MemoryQuery(user_id="u", persona_id="p", query="what breed is my dog Biscuit")
    )
    assert "m3" in [m for h in hits[:2] for m in h.source_message_ids]
    top = next(h for h in hits if h.source_message_ids == ["m3"])
    assert top.kind == "turn" and top.role == "user" and top.created_at == base + 20
    assert top.context_before == ["assistant: Congratulations! What is its name?"]
    assert top.context_after == ["assistant: Biscuit the beagle, lovely."]
    line = format_memory_line(top)
    assert line.startswith("[2023-11-14] user: His name is Biscuit")
    lines = svc.prompt_lines("u", "p", "Biscuit", token_budget=40)
    assert lines and sum(len(x) // 4 for x in lines) <= 40


def test_near_duplicates_are_dropped_and_pinned_always_considered(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    svc.add_memories(
        [
            NewMemory(user_id="u", text="I live in Kazan."),
            NewMemory(user_id="u", text="I live in Kazan!"),
            NewMemory(user_id="u", text="Always answer in Russian", pinned=True),
        ]
    )
    assert svc.wait_until_indexed(CATCH_UP_S)
    hits = svc.search(MemoryQuery(user_id="u", query="where do I live", k=5))
    texts = [h.text for h in hits]
    assert sum(t.startswith("I live in Kazan") for t in texts) == 1
    assert "Always answer in Russian" in texts


def test_long_messages_are_chunked_by_sentence(make_service, e5) -> None:
    svc = make_service(embedder=e5, chunk_max_chars=120)
    filler = " ".join(f"Sentence {i} is about nothing in particular." for i in range(12))
    text = filler + " My grandmother's maiden name was Orlova. " + filler
    ids = svc.remember_turn("u", None, "c", "long1", "user", text, 1e9)
    assert len(ids) > 5
    assert all(len(svc.get(i, "u").text) <= 120 for i in ids)
    assert svc.wait_until_indexed(CATCH_UP_S)
    hit = svc.search(MemoryQuery(user_id="u", query="grandmother maiden name", k=1))[0]
    assert "Orlova" in hit.text and hit.source_message_ids == ["long1"]
