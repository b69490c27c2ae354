"""Keyword search ranks the FTS table alone and filters to the namespace afterwards; a user
whose memories are a tiny part of the matches must still get theirs (and only theirs)."""

from __future__ import annotations

from memory import NewMemory
from memory.types import Namespace


def test_small_namespace_among_many_matches(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.add_memories(
        [NewMemory(user_id="big", text=f"my cat number {i} sleeps all day") for i in range(900)]
    )
    svc.add_memories([NewMemory(user_id="small", text="the cat called Barsik sleeps")])
    svc.add_memories([NewMemory(user_id="small", text="I like rainy days", persona_id="p2")])
    hits = svc.store.keyword_search(Namespace(user_id="small"), "cat sleeps", 5)
    assert len(hits) == 1
    assert svc.store.get(hits[0][0], "small").text == "the cat called Barsik sleeps"
    big = svc.store.keyword_search(Namespace(user_id="big"), "cat sleeps", 50)
    assert len(big) == 50
    p1, p2 = (
        Namespace(user_id="small", persona_id="p1"),
        Namespace(user_id="small", persona_id="p2"),
    )
    assert svc.store.keyword_search(p1, "rainy", 5) == []
    assert len(svc.store.keyword_search(p2, "rainy", 5)) == 1
