"""What is not worth remembering is not remembered, and what the chat deletes is forgotten."""

from __future__ import annotations

import pytest

from memory import MemoryQuery, NewMemory, TurnIn
from memory.remember_policy import skip_reason


@pytest.mark.parametrize(
    ("text", "role", "reason"),
    [
        ("ok", "user", "acknowledgement"),
        ("Thanks!", "user", "acknowledgement"),
        ("thank you", "user", "acknowledgement"),
        ("👍", "user", "acknowledgement"),
        ("Спасибо большое!", "user", "acknowledgement"),
        ("угу", "user", "acknowledgement"),
        ("   ", "user", "empty"),
        ("I'm sorry, but I can't help with that.", "assistant", "refusal"),
        ("As an AI, I don't have personal experiences.", "assistant", "refusal"),
        ("Я не знаю, как зовут вашего кота.", "assistant", "refusal"),
        ("Извините, но я не могу ответить на этот вопрос.", "assistant", "refusal"),
        ("I don't remember you telling me that.", "assistant", "refusal"),
        ("Error: the model timed out", "assistant", "error"),
    ],
)
def test_not_worth_remembering(text: str, role: str, reason: str) -> None:
    assert skip_reason(text, role) == reason


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("Barsik", "user"),  # a one-word answer is a fact
        ("Казань", "user"),
        ("My cat is called Barsik.", "user"),
        ("I don't know why, but I love rainy days.", "user"),  # the user's own words
        ("Error 404 keeps showing on my website, any idea?", "user"),
        ("I'm sorry to hear that! Your sister Masha must miss Kazan.", "assistant"),
        ("I can't wait to hear about the trip!", "assistant"),
        ("I can't help but smile when you talk about Barsik.", "assistant"),
        (
            "I don't know the whole story, but from what you said about Masha moving to Kazan "
            "and the new job, it sounds like a big change for her. " * 3,
            "assistant",
        ),  # long replies are kept even when they open like a refusal
    ],
)
def test_worth_remembering(text: str, role: str) -> None:
    assert skip_reason(text, role) is None


def test_imported_speech_is_not_judged_as_a_model_reply() -> None:
    person = "I don't know what I'd do without you guys, honestly."
    assert skip_reason(person, "assistant") == "refusal"  # from the model: a non-answer
    assert skip_reason(person, "assistant", generated=False) is None  # from a person
    assert skip_reason("ok", "assistant", generated=False) == "acknowledgement"


def test_service_skips_unworthy_turns_and_counts_them(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    assert svc.remember_turn("u", None, "c", "m1", "user", "ok", 1.0) == []
    assert (
        svc.remember_turn("u", None, "c", "m2", "assistant", "Я не знаю, как зовут кота.", 2.0)
        == []
    )
    assert svc.remember_turn("u", None, "c", "m3", "user", "My cat is Barsik", 3.0)
    assert svc.list_memories("u").total == 1
    assert svc.status().not_remembered == 2
    imported = svc.remember_turns(
        [
            TurnIn(user_id="u", conversation_id="c2", message_id=f"i{i}", role="assistant",
                   text=text, created_at=9.0)
            for i, text in enumerate(["I don't know what I'd do without you.", "ok"])
        ]
    )  # fmt: skip
    assert len(imported) == 1 and svc.status().not_remembered == 3
    relaxed = make_service(embedder=hash_embedder, skip_unworthy=False)
    assert relaxed.remember_turn("u2", None, "c", "m4", "user", "ok", 4.0)


def test_forget_messages_removes_turns_derived_summaries_and_citations(
    make_service, hash_embedder
) -> None:
    svc = make_service(embedder=hash_embedder, chunk_max_chars=60)
    long_text = "The first sentence is about cats. " * 4
    svc.remember_turns(
        [
            TurnIn(user_id="u", conversation_id="c", message_id=mid, role="user", text=text,
                   created_at=float(i))
            for i, (mid, text) in enumerate([("m1", long_text), ("m2", "I live in Kazan"),
                                             ("m3", "My sister is Masha")])
        ]
    )  # fmt: skip
    svc.remember_turn("other", None, "c", "m1", "user", "another user's m1", 9.0)
    summary = svc.add_memories(
        [
            NewMemory(
                user_id="u", text="cats and Kazan", kind="summary", source_message_ids=["m1", "m2"]
            )
        ]
    )[0]
    with svc.store.db.transaction() as conn:
        conn.execute("INSERT INTO memory_consolidation_windows VALUES ('c', 0, ?, 1.0)", (summary,))
    fact_only, fact_mixed = svc.add_memories(
        [
            NewMemory(user_id="u", text="Lives in Kazan", kind="fact", source_message_ids=["m2"]),
            NewMemory(
                user_id="u", text="Has a sister", kind="fact", source_message_ids=["m2", "m3"]
            ),
        ]
    )
    assert svc.wait_until_indexed(10)
    chunks = [i for i in svc.list_memories("u").items if i.message_id == "m1"]
    assert len(chunks) > 1

    removed = svc.forget_messages("u", ["m1", "m2"])

    left = {i.id: i for i in svc.list_memories("u", None).items}
    assert removed == len(chunks) + 1 + 2  # chunks of m1, m2, the summary, the m2-only fact
    assert {i.message_id for i in left.values() if i.kind == "turn"} == {"m3"}
    assert summary not in left and fact_only not in left
    assert left[fact_mixed].source_message_ids == ["m3"]
    with svc.store.db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM memory_consolidation_windows").fetchone()[0] == 0
    assert svc.list_memories("other").total == 1  # another user's message of the same id stays
    assert svc.status(exact=True).index.consistent
    hits = svc.search(MemoryQuery(user_id="u", query="Kazan cats", k=10))
    assert all(not {"m1", "m2"} & set(h.source_message_ids) for h in hits)
    assert svc.forget_messages("u", []) == 0
