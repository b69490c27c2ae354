"""Consolidation: window summaries (resumable, cancellable), duplicate merging, decay."""

from __future__ import annotations

import threading

from memory import MemoryFilter, MemoryQuery, NewMemory
from tests.waits import CATCH_UP_S

DAY = 86400.0


def _conversation(svc, n: int, start: float) -> None:
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        svc.remember_turn(
            "u",
            "p",
            "conv",
            f"m{i:03d}",
            role,
            f"turn {i} talking about topic {i // 4}",
            start + i * 60,
        )


def _svc(make_service, embedder, summarize, clock):
    svc = make_service(embedder=embedder)
    svc.consolidator._summarize = summarize
    svc.consolidator._clock = clock
    return svc


def test_summaries_for_old_windows_are_resumable(make_service, hash_embedder, db) -> None:
    now = 1_800_000_000.0
    calls: list[list[str]] = []

    def summarize(lines: list[str]) -> str:
        calls.append(lines)
        if len(calls) == 2:
            raise RuntimeError("LLM went away")
        return f"Summary of {len(lines)} lines starting {lines[0][:12]}"

    svc = _svc(make_service, hash_embedder, summarize, lambda: now)
    _conversation(svc, 60, now - 30 * DAY)  # 60 messages, 24 kept recent, windows of 12 -> 3
    first = svc.consolidator.run()
    assert first.last_result == "failed" and "LLM went away" in (first.error or "")
    assert first.summaries_created == 1
    second = svc.consolidator.run()
    assert second.last_result == "completed" and second.summaries_created == 2
    assert len(calls) == 4  # window 0 never summarised twice
    summaries = svc.list_memories("u", MemoryFilter(kind="summary")).items
    assert len(summaries) == 3
    assert sorted(len(m.source_message_ids) for m in summaries) == [12, 12, 12]
    with db.connect() as conn:  # the turns themselves are untouched
        assert conn.execute("SELECT count(*) FROM memories WHERE kind='turn'").fetchone()[0] == 60
    assert svc.wait_until_indexed(CATCH_UP_S)
    assert svc.search(MemoryQuery(user_id="u", query="Summary", mode="keyword"))


def test_cancel_stops_between_windows(make_service, hash_embedder) -> None:
    now = 1_800_000_000.0
    gate, entered = threading.Event(), threading.Event()

    def slow_summarize(lines: list[str]) -> str:
        entered.set()
        gate.wait(5)
        return "s"

    svc = _svc(make_service, hash_embedder, slow_summarize, lambda: now)
    _conversation(svc, 120, now - 30 * DAY)
    assert svc.start_consolidation()
    assert not svc.start_consolidation()  # one run at a time
    assert entered.wait(5)  # inside the first window's LLM call
    assert svc.consolidation_status().state == "running"
    assert svc.cancel_consolidation()
    gate.set()
    assert svc.consolidator.wait(10)
    status = svc.consolidation_status()
    assert status.state == "idle" and status.last_result == "cancelled" and status.windows_done == 1


def test_near_duplicates_merge_and_low_importance_decays(make_service, e5) -> None:
    clock = [1_800_000_000.0]
    svc = _svc(make_service, e5, None, lambda: clock[0])
    keep_id, drop_id = svc.add_memories(
        [
            NewMemory(
                user_id="u",
                text="My daughter's name is Alisa.",
                kind="fact",
                source_message_ids=["a"],
            ),
            NewMemory(
                user_id="u",
                text="My daughter's name is Alisa",
                kind="fact",
                source_message_ids=["b"],
                importance=0.9,
            ),
        ]
    )
    other_user = svc.add_memories(
        [NewMemory(user_id="v", text="My daughter's name is Alisa.", kind="fact")]
    )
    low = svc.add_memories([NewMemory(user_id="u", text="it rained", importance=0.2)])[0]
    pinned = svc.add_memories(
        [NewMemory(user_id="u", text="pinned small", importance=0.2, pinned=True)]
    )[0]
    assert svc.wait_until_indexed(CATCH_UP_S)
    svc.consolidator.run()  # first run: merges, starts the decay clock
    merged = svc.get(keep_id, "u")
    assert svc.get(drop_id, "u") is None and merged.source_message_ids == ["a", "b"]
    assert merged.importance == 0.9
    assert svc.get(other_user[0], "v") is not None  # never merged across users
    clock[0] += 10 * DAY
    status = svc.consolidator.run()
    assert status.decayed >= 1
    assert abs(svc.get(low, "u").importance - 0.2 * 0.99**10) < 1e-6
    assert svc.get(pinned, "u").importance == 0.2
    assert svc.status(exact=True).index.consistent
    assert svc.stats("u").last_consolidation_at == clock[0]
