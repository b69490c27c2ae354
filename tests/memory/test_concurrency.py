"""Concurrent writers and searchers: nothing lost, nothing crashes, index ends consistent."""

from __future__ import annotations

import threading

from memory import MemoryQuery, NewMemory
from tests.waits import CATCH_UP_S


def test_threads_write_and_search_at_once(make_service, e5) -> None:
    svc = make_service(embedder=e5, index_save_every=25)
    errors: list[BaseException] = []
    written: dict[str, list[int]] = {}

    def writer(user: str) -> None:
        try:
            ids: list[int] = []
            for i in range(40):
                ids += svc.remember_turn(
                    user,
                    None,
                    f"c-{user}",
                    f"{user}-{i}",
                    "user",
                    f"{user} note {i}: item {i * 7}",
                    1e9 + i,
                )
            written[user] = ids
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def searcher(user: str) -> None:
        try:
            for i in range(25):
                for hit in svc.search(MemoryQuery(user_id=user, query=f"note {i}", k=5)):
                    assert hit.text.startswith(user)
        except BaseException as exc:
            errors.append(exc)

    def editor() -> None:
        try:
            for i in range(15):
                item = svc.add_memory(NewMemory(user_id="w0", text=f"temporary {i}"))
                svc.delete(item.id, "w0")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    threads += [threading.Thread(target=searcher, args=(f"w{n}",)) for n in range(3)]
    threads.append(threading.Thread(target=editor))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert svc.wait_until_indexed(CATCH_UP_S)
    status = svc.status(exact=True)
    assert (
        status.index.consistent
        and status.index.size == 120
        and status.index.pending_embeddings == 0
    )
    for user, ids in written.items():
        assert len(ids) == 40
        assert svc.list_memories(user).total == 40
