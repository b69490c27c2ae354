"""Consolidation runs by itself in idle time or a night window, yields to a chat turn, and
resumes where it stopped (the real consolidator on a real memory service)."""

from __future__ import annotations

import threading
from datetime import datetime

from memory import MemoryFilter
from memory.config import ConsolidationSchedule
from memory.consolidation_schedule import ConsolidationScheduler

DAY = 86400.0
NOON = datetime(2026, 6, 1, 12, 0).timestamp()  # local time: outside the night window
NIGHT = datetime(2026, 6, 2, 3, 0).timestamp()


def _old_conversation(svc, n: int, start: float) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        svc.store.add_turns(  # history stored long ago (not a live turn: no activity)
            [
                svc_turn(i, start),
            ],
            svc.config.chunk_max_chars,
        )


def svc_turn(i: int, start: float):  # type: ignore[no-untyped-def]
    from memory import TurnIn

    return TurnIn(
        user_id="u",
        persona_id="p",
        conversation_id="conv",
        message_id=f"m{i:03d}",
        role="user" if i % 2 == 0 else "assistant",
        text=f"turn {i} talking about topic {i // 4}",
        created_at=start + i * 60,
    )


def _scheduler(svc, now: list[float], **config) -> ConsolidationScheduler:  # type: ignore[no-untyped-def]
    svc.consolidator._clock = lambda: now[0]
    return ConsolidationScheduler(
        ConsolidationSchedule(**config),
        svc.consolidator,
        last_activity=lambda: svc._last_turn_at,
        busy=lambda: False,
        clock=lambda: now[0],
    )


def test_idle_time_starts_a_run_once_per_interval(make_service, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    svc = make_service(embedder=hash_embedder)
    now = [NOON]
    svc._last_turn_at = NOON
    summaries: list[int] = []

    def summarize(lines: list[str]) -> str:
        summaries.append(len(lines))
        return f"Summary: {lines[0]}"  # distinct, or duplicate merging folds them

    svc.consolidator._summarize = summarize
    _old_conversation(svc, 60, NOON - 30 * DAY)
    sched = _scheduler(svc, now, mode="idle", idle_after_s=600, min_interval_s=3600)
    assert sched.tick() is False and sched.status().waiting_for == "idle"  # just chatted
    now[0] += 601
    assert sched.tick() is True
    assert svc.consolidator.wait(30)
    assert len(summaries) == 3  # 60 turns, 24 kept recent, windows of 12
    assert svc.list_memories("u", MemoryFilter(kind="summary")).total == 3
    now[0] += 60
    assert sched.tick() is False and sched.status().waiting_for == "interval"
    now[0] += 3600
    assert sched.tick() is True and svc.consolidator.wait(30)
    assert len(summaries) == 3  # nothing new: windows are not summarised twice
    assert sched.status().auto_runs == 2
    assert svc.status().schedule is not None


def test_the_night_window_and_off(make_service, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    svc = make_service(embedder=hash_embedder)
    now = [NOON]
    svc._last_turn_at = NOON  # busy all day: never idle
    night = _scheduler(svc, now, mode="night", night_start_hour=2, night_end_hour=5)
    now[0] = NOON + 7200
    assert night.tick() is False and night.status().waiting_for == "night"
    now[0] = NIGHT
    assert night.tick() is True and svc.consolidator.wait(30)
    off = _scheduler(svc, [NIGHT + 10 * DAY], mode="off")
    assert off.tick() is False and off.status().waiting_for == "off"
    wraps = _scheduler(svc, now, night_start_hour=23, night_end_hour=4)
    assert wraps._in_night(datetime(2026, 6, 2, 0, 30).timestamp())
    assert not wraps._in_night(datetime(2026, 6, 2, 12, 0).timestamp())


def test_a_chat_turn_interrupts_it_and_the_next_idle_time_resumes(  # type: ignore[no-untyped-def]
    make_service, hash_embedder
) -> None:
    svc = make_service(embedder=hash_embedder)
    now = [NOON]
    svc._last_turn_at = NOON - DAY
    entered, gate = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(lines: list[str]) -> str:
        calls.append(len(lines))
        entered.set()
        gate.wait(10)
        return f"Summary: {lines[0]}"

    svc.consolidator._summarize = slow
    _old_conversation(svc, 120, NOON - 30 * DAY)  # 8 windows to summarise
    busy = [False]
    sched = _scheduler(svc, now, mode="idle", idle_after_s=60, min_interval_s=60)
    sched.busy = lambda: busy[0]
    assert sched.tick() is True
    assert entered.wait(10)
    busy[0] = True  # a user sends a message
    assert sched.tick() is False
    gate.set()
    assert svc.consolidator.wait(30)
    status = svc.consolidation_status()
    assert status.last_result == "cancelled" and sched.status().interrupted == 1
    done_first = status.windows_done
    assert 1 <= done_first < 8
    busy[0] = False
    now[0] += 3600
    assert sched.tick() is True and svc.consolidator.wait(30)
    assert svc.consolidation_status().last_result == "completed"
    assert svc.list_memories("u", MemoryFilter(kind="summary")).total == 8
    assert len(calls) == 8  # resumed: no window summarised twice
