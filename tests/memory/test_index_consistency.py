"""The FAISS file stays consistent with SQLite: checked at start, rebuilt when it is not."""

from __future__ import annotations

import numpy as np
import pytest

from memory import MemoryPatch, MemoryQuery, NewMemory
from memory.vector_index import FaissVectorIndex
from tests.waits import CATCH_UP_S


def _notes(n: int, user: str = "u") -> list[NewMemory]:
    return [
        NewMemory(user_id=user, text=f"note {i} about topic{i % 7} and item{i}") for i in range(n)
    ]


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_index_add_remove_replace_search(kind: str) -> None:
    idx = FaissVectorIndex(8, kind)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((20, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    idx.add(np.arange(100, 120), vecs)
    assert idx.size == 20 and idx.search(vecs[3], 1)[0][0] == 103
    idx.remove([103])
    assert idx.size == 19 and 103 not in [i for i, _ in idx.search(vecs[3], 19)]
    idx.add(np.array([104]), vecs[5:6])  # replace 104's vector
    assert idx.size == 19
    top = [i for i, _ in idx.search(vecs[5], 2)]
    assert set(top) == {104, 105}
    assert list(idx.ids()) == [i for i in range(100, 120) if i != 103]


def test_startup_check_accepts_matching_index(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.add_memories(_notes(30))
    assert svc.wait_until_indexed(CATCH_UP_S)
    svc.close()
    again = make_service(embedder=hash_embedder)
    assert again.keeper.last_check is not None and again.keeper.last_check.startswith("ok (30")
    assert again.status(exact=True).index.consistent


def test_corrupt_index_file_is_rebuilt_from_sqlite(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    ids = svc.add_memories(_notes(25))
    assert svc.wait_until_indexed(CATCH_UP_S)
    path = svc.keeper.path
    svc.close()
    path.write_bytes(b"\x00garbage" * 100)
    again = make_service(embedder=hash_embedder)
    assert "rebuilt" in (again.keeper.last_check or "") and "unreadable" in again.keeper.last_check
    assert again.index.size == 25 and set(again.index.ids()) == set(ids)
    hits = again.search(MemoryQuery(user_id="u", query="item7", mode="dense", k=1))
    assert hits[0].text == "note 7 about topic0 and item7"


def test_index_missing_rows_or_extra_ids_triggers_rebuild(make_service, hash_embedder, db) -> None:
    svc = make_service(embedder=hash_embedder)
    ids = svc.add_memories(_notes(10))
    assert svc.wait_until_indexed(CATCH_UP_S)
    svc.close()
    # Changed behind the index's back: one row deleted, one added with a vector.
    with db.transaction() as conn:
        conn.execute("DELETE FROM memories WHERE id = ?", (ids[0],))
    again = make_service(embedder=hash_embedder)
    assert "rebuilt" in (again.keeper.last_check or "")
    assert again.status(exact=True).index.consistent and again.index.size == 9


def test_same_count_but_different_ids_is_detected(make_service, hash_embedder, db) -> None:
    svc = make_service(embedder=hash_embedder)
    ids = svc.add_memories(_notes(5))
    assert svc.wait_until_indexed(CATCH_UP_S)
    svc.close()
    with db.transaction() as conn:  # same number of vectors, another id
        conn.execute("UPDATE memories SET id = 9999 WHERE id = ?", (ids[0],))
    again = make_service(embedder=hash_embedder)
    assert "ids differ" in (again.keeper.last_check or "")
    assert 9999 in set(again.index.ids())


def test_edit_reembeds_and_delete_unindexes(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    item = svc.add_memory(NewMemory(user_id="u", text="My favourite colour is blue"))
    assert svc.wait_until_indexed(CATCH_UP_S)
    svc.update(item.id, "u", MemoryPatch(text="Я обожаю играть на гитаре"))
    assert svc.wait_until_indexed(CATCH_UP_S)
    hit = svc.search(MemoryQuery(user_id="u", query="музыкальный инструмент", mode="dense"))[0]
    assert hit.id == item.id and hit.text.startswith("Я обожаю")
    assert svc.delete(item.id, "u")
    assert svc.index.size == 0 and svc.status(exact=True).index.consistent


@pytest.mark.parametrize("kind", ["hnsw"])
def test_hnsw_service_compacts_on_save(make_service, hash_embedder, kind: str) -> None:
    svc = make_service(embedder=hash_embedder, index=kind)
    ids = svc.add_memories(_notes(40))
    assert svc.wait_until_indexed(CATCH_UP_S)
    for memory_id in ids[:10]:
        svc.delete(memory_id, "u")
    assert svc.index.needs_rebuild and svc.index.size == 30
    svc.keeper.save()
    assert not svc.index.needs_rebuild and svc.status(exact=True).index.consistent
    svc.close()
    again = make_service(embedder=hash_embedder, index=kind)
    assert again.keeper.last_check.startswith("ok (30")
