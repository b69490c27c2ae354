"""A user's memories are never visible to another user; personas per config."""

from __future__ import annotations

from memory import MemoryFilter, MemoryPatch, MemoryQuery, NewMemory
from tests.waits import CATCH_UP_S


def _seed(svc) -> None:
    svc.remember_turn(
        "alice", "luna", "c1", "a1", "user", "My secret password hint is sunflower", 1e9
    )
    svc.remember_turn("alice", "sol", "c2", "a2", "user", "Sunflower fields remind me of home", 1e9)
    svc.add_memories([NewMemory(user_id="alice", text="Alice is allergic to sunflower seeds")])
    for i in range(200):  # bob has many near-identical memories that crowd FAISS results
        svc.remember_turn("bob", "luna", "c3", f"b{i}", "user", f"sunflower secret number {i}", 1e9)
    assert svc.wait_until_indexed(CATCH_UP_S)


def test_users_never_see_each_other(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    _seed(svc)
    for mode in ("hybrid", "dense", "keyword"):
        hits = svc.search(MemoryQuery(user_id="alice", query="sunflower secret", mode=mode, k=50))
        assert hits, mode
        assert all(svc.get(h.id, "alice") is not None for h in hits), mode
        assert not any("number" in h.text for h in hits), mode
        bob = svc.search(
            MemoryQuery(user_id="bob", query="password hint sunflower", mode=mode, k=50)
        )
        assert not any("Alice" in h.text or "hint" in h.text for h in bob), mode


def test_crud_is_owner_only(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    item = svc.add_memory(NewMemory(user_id="alice", text="private"))
    assert svc.get(item.id, "bob") is None
    assert svc.update(item.id, "bob", MemoryPatch(text="hacked")) is None
    assert svc.delete(item.id, "bob") is False
    assert svc.list_memories("bob").total == 0
    assert svc.get(item.id, "alice").text == "private"


def test_persona_mode_scopes_to_persona_plus_user_wide(make_service, e5) -> None:
    svc = make_service(embedder=e5, namespace="persona")
    _seed(svc)
    hits = svc.search(MemoryQuery(user_id="alice", persona_id="luna", query="sunflower", k=20))
    texts = {h.text for h in hits}
    assert "My secret password hint is sunflower" in texts
    assert "Alice is allergic to sunflower seeds" in texts  # user-wide (no persona)
    assert "Sunflower fields remind me of home" not in texts  # persona sol's


def test_shared_mode_spans_the_users_personas(make_service, e5) -> None:
    svc = make_service(embedder=e5, namespace="shared")
    _seed(svc)
    hits = svc.search(MemoryQuery(user_id="alice", persona_id="luna", query="sunflower", k=20))
    assert "Sunflower fields remind me of home" in {h.text for h in hits}
    assert svc.list_memories("alice", MemoryFilter(persona_id="sol")).total == 1
