"""What is not worth remembering is not remembered, and what the chat deletes is forgotten."""

from __future__ import annotations

import pytest

from memory import MemoryQuery, NewMemory, TurnIn
from memory.remember_policy import skip_reason
from tests.waits import CATCH_UP_S


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


@pytest.mark.parametrize(
    "text",
    [
        "What is my dog's name?",
        "Which city does my sister Olivia live in?",
        "What am I allergic to?",
        "Which city do I live in?",
        "Hey Chatumba, what's my name?",
        "Do you remember where I live?",
        "Tell me a short joke.",
        "Tell me, what is my name.",
        "Recommend me a good book for the weekend.",
        "what did Anna paint?",
        "Как меня зовут?",
        "Как зовут моего кота?",
        "В каком городе я живу?",
        "В каком городе живёт моя сестра Маша?",
        "На что у меня аллергия?",
        "Есть ли у меня кот?",
        "Слушай, а как зовут мою сестру?",
        "Ты помнишь мою собаку?",
        "Напомни, как зовут мою сестру",
        "Расскажи короткую шутку.",
        "что говорила Маша?",
    ],
)
def test_a_users_bare_question_or_request_is_not_remembered(text: str) -> None:
    assert skip_reason(text, "user") == "question"
    assert skip_reason(text, "assistant") is None  # the companion asking is part of the talk
    assert skip_reason(text, "user", generated=False) is None  # two people's imported dialog


@pytest.mark.parametrize(
    "text",
    [
        "My sister Masha lives in Kazan, did I tell you?",
        "Did I tell you I got a new job?",
        "You know I moved to Berlin last month?",
        "I'm allergic to shellfish, what should I avoid?",
        "My dog Rex is sick, what should I do?",
        "Yesterday I painted a sunset, what do you think?",
        "Я живу в Самаре, где тут хороший врач?",
        "Я переехал в Москву, как думаешь, это правильно?",
        "Мне 30 лет, это много?",
        "Хорошо, что рассказал. Расскажешь подробнее?",  # «что» joins a statement here
        "What a thoughtful present!",
        "Noted! Let's see how the week goes.",
        "Barsik",
        "I have a dog named Biscuit, a scruffy terrier.",
        "Why? " + "Because my brother finally came home after years abroad and " * 3,
    ],
)
def test_a_question_that_tells_something_is_remembered(text: str) -> None:
    assert skip_reason(text, "user") is None


def test_a_question_does_not_outrank_the_fact_it_asks_for(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.remember_turn("u", None, "c", "m1", "user", "My dog is called Biscuit.", 1.0)
    for i, asked in enumerate(["What is my dog's name?", "what's my dog called?"], start=2):
        assert svc.remember_turn("u", None, "c", f"m{i}", "user", asked, float(i)) == []
    assert svc.wait_until_indexed(CATCH_UP_S)
    hits = svc.search(MemoryQuery(user_id="u", query="What is my dog's name?", k=5))
    assert [h.source_message_ids for h in hits] == [["m1"]]
    assert svc.status().not_remembered == 2


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
    assert svc.wait_until_indexed(CATCH_UP_S)
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
