"""CRUD, listing filters, stats and health of the memory service."""

from __future__ import annotations

from memory import MemoryFilter, MemoryPatch, NewMemory
from tests.waits import CATCH_UP_S


def test_add_get_update_pin_delete_list_stats(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    item = svc.add_memory(NewMemory(user_id="u", text="Likes jazz", kind="manual"))
    assert svc.get(item.id, "u").text == "Likes jazz" and not item.pinned
    assert svc.pin(item.id, "u").pinned
    updated = svc.update(item.id, "u", MemoryPatch(text="Likes blues", importance=0.8))
    assert updated.text == "Likes blues" and updated.importance == 0.8 and updated.pinned
    svc.add_memories([NewMemory(user_id="u", text=f"fact {i}", kind="fact") for i in range(7)])
    page = svc.list_memories("u", MemoryFilter(kind="fact", limit=3, offset=3))
    assert page.total == 7 and len(page.items) == 3
    assert svc.list_memories("u", MemoryFilter(pinned=True)).items[0].id == item.id
    assert svc.list_memories("u", MemoryFilter(contains="BLUES")).total == 1
    assert svc.wait_until_indexed(CATCH_UP_S)
    stats = svc.stats("u")
    assert stats.total == 8 and stats.by_kind == {"manual": 1, "fact": 7} and stats.pinned == 1
    assert stats.index_size == 8 and stats.pending_embeddings == 0
    assert svc.delete(item.id, "u") and svc.get(item.id, "u") is None
    assert not svc.delete(item.id, "u")
    health = svc.status()
    assert health.index.size == 7 and health.embedder.state == "ready"


def test_remembering_a_message_twice_is_a_no_op(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    assert svc.remember_turn("u", None, "c", "m1", "user", "hello there", 1.0)
    assert svc.remember_turn("u", None, "c", "m1", "user", "hello there", 1.0) == []
    assert svc.list_memories("u").total == 1


def test_delete_user_forgets_everything(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.add_memories([NewMemory(user_id="u", text=f"x{i}") for i in range(5)])
    svc.add_memories([NewMemory(user_id="keep", text="y")])
    assert svc.wait_until_indexed(CATCH_UP_S)
    assert svc.delete_user("u") == 5
    assert svc.index.size == 1 and svc.status(exact=True).index.consistent
