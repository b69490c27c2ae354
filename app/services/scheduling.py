"""Who may use a model now: up to the backend's `turns_at_once` turns per model (a local
model interleaves them: models/llama_cpp_backend.py; others take one at a time), a bounded
line of waiting turns with their positions, and background work (inner life, prefix
warm-up) only when no turn runs or waits.

Why a line of our own instead of the backend's lock: a waiting user should see where they
stand, a full line should be refused at once (503 with Retry-After) instead of piling up
threads, a turn whose client left must leave the line, and background work must never take
the model from a person. Turns come from any thread and any event loop (Gradio, FastAPI,
tests with `asyncio.run` per thread), so the state is guarded by a plain lock and each
waiting turn is woken through its own loop.

Model work also runs on its own small executor (`executor`): relaying tokens from the
backend's compute thread blocks a thread for the whole reply, and on the default executor
20 concurrent chats took every thread `/health`, SQLite and memory search needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from config.errors import IkarError

# Before any turn finished, a turn is assumed to take this long (for Retry-After).
DEFAULT_TURN_S = 15.0


class QueueFullError(IkarError):
    """Too many turns already wait for the model; try again after `retry_after` seconds."""

    code = "queue_full"
    status_code = 503
    key = "error.queue_full"

    def __init__(self, retry_after: float, waiting: int) -> None:
        super().__init__(f"{waiting} turns waiting", waiting=waiting)
        self.retry_after = max(1.0, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(-(-self.retry_after // 1)))}


@dataclass(eq=False)
class Ticket:
    """One turn's (or one background job's) place at a model."""

    model: str
    kind: Literal["turn", "background"]
    number: int
    granted: bool = False
    left: bool = False
    # Background work: set when a turn wants the model (the job stops between tokens).
    preempt: threading.Event = field(default_factory=threading.Event)
    since: float = field(default_factory=time.monotonic)
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    def _notify(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(wake.set)


class QueueStats(BaseModel):
    """What `/health` and the admin see of one model's line."""

    model: str
    running: str | None  # "turn" | "background" | None
    running_turns: int = 0  # turns sharing the model now
    waiting: int
    max_waiting: int
    avg_turn_s: float


class _ModelLine:
    def __init__(self) -> None:
        self.holders: list[Ticket] = []  # turns, or one background job alone
        self.capacity = 1  # turns at once, as the backend said at the last `enter`
        self.waiting: deque[Ticket] = deque()
        self.avg_turn_s = DEFAULT_TURN_S

    @property
    def background(self) -> Ticket | None:
        return next((t for t in self.holders if t.kind == "background"), None)

    def has_room(self) -> bool:
        return self.background is None and len(self.holders) < self.capacity


class TurnScheduler:
    """The lines in front of the models (one per model name)."""

    def __init__(
        self,
        max_waiting: int,
        workers: int = 36,  # each turn sharing a model relays on one (turns_at_once <= 32)
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_waiting = max_waiting
        self.clock = clock
        self._lock = threading.Lock()
        self._lines: dict[str, _ModelLine] = {}
        self._numbers = itertools.count(1)
        self.closed = False
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The model's own threads, made on first use and again after `close` (the app's
        lifespan can end and start again around the same services: tests, an embedding host)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="ikar-model"
                )
            return self._executor

    def open(self) -> None:
        """Starting (again): background work may wait for the model."""
        self.closed = False

    # -- turns ---------------------------------------------------------------------------
    def enter(self, model: str, capacity: int = 1) -> Ticket:
        """Take a place in the model's line (granted at once when fewer than `capacity`
        turns hold it and nobody waits), or raise `QueueFullError` when `max_waiting` turns
        already wait. A running background job is asked to stop. Call `leave` when the turn
        ends, whatever happens."""
        ticket = Ticket(model=model, kind="turn", number=next(self._numbers), since=self.clock())
        # A caller without an event loop (a blocking one) gets no wake-ups.
        with contextlib.suppress(RuntimeError):
            ticket._loop = asyncio.get_running_loop()
            ticket._wake = asyncio.Event()
        with self._lock:
            line = self._lines.setdefault(model, _ModelLine())
            line.capacity = max(1, capacity)
            if line.has_room() and not line.waiting:
                self._grant(line, ticket)
                return ticket
            if len(line.waiting) >= self.max_waiting:
                ahead = len(line.waiting) + 1
                raise QueueFullError(ahead * line.avg_turn_s, len(line.waiting))
            line.waiting.append(ticket)
            background = line.background
            if background is not None:
                background.preempt.set()
        return ticket

    def position(self, ticket: Ticket) -> int:
        """0 when the ticket holds the model, else how many turns are before it plus one."""
        with self._lock:
            return self._position(ticket)

    async def wait(
        self,
        ticket: Ticket,
        shown: int = 0,
        cancel: threading.Event | None = None,
        poll_s: float = 0.5,
    ) -> AsyncIterator[int]:
        """Yield the ticket's position each time it differs from the last one shown; end
        when it holds the model, or when it left the line (check `ticket.granted`). A set
        `cancel` (Stop, a client that left) makes it leave within `poll_s`."""
        wake = ticket._wake
        assert wake is not None, "enter() must be called on the event loop that waits"
        last = shown
        while True:
            wake.clear()
            with self._lock:
                position = self._position(ticket)
            if position == 0 or ticket.left:
                return
            if cancel is not None and cancel.is_set():
                self.leave(ticket)
                return
            if position != last:
                last = position
                yield position
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=poll_s)

    def leave(self, ticket: Ticket) -> None:
        """The turn or job is over (done, failed, cancelled, client gone): free its place."""
        to_wake: list[Ticket] = []
        with self._lock:
            if ticket.left:
                return
            ticket.left = True
            line = self._lines.get(ticket.model)
            if line is None:
                return
            if ticket in line.holders:
                line.holders.remove(ticket)
                if ticket.kind == "turn":
                    took = max(0.0, self.clock() - ticket.since)
                    line.avg_turn_s = 0.7 * line.avg_turn_s + 0.3 * took
                while line.waiting and line.has_room():
                    self._grant(line, line.waiting.popleft())
                to_wake = list(line.waiting) + line.holders
            elif ticket in line.waiting:
                index = line.waiting.index(ticket)
                line.waiting.remove(ticket)
                to_wake = [ticket, *list(line.waiting)[index:]]
        for other in to_wake:
            other._notify()

    # -- background work -----------------------------------------------------------------
    def try_background(self, model: str) -> Ticket | None:
        """The model for a background job, only if no turn runs or waits; None otherwise.
        The job watches `ticket.preempt` (a turn arrived) and must `leave` when done."""
        with self._lock:
            line = self._lines.setdefault(model, _ModelLine())
            if line.holders or line.waiting:
                return None
            ticket = Ticket(model=model, kind="background", number=next(self._numbers))
            line.holders.append(ticket)
            ticket.granted = True
            return ticket

    def idle(self, model: str) -> bool:
        with self._lock:
            line = self._lines.get(model)
            return line is None or (not line.holders and not line.waiting)

    # -- reporting -----------------------------------------------------------------------
    def stats(self) -> list[QueueStats]:
        with self._lock:
            return [
                QueueStats(
                    model=name,
                    running=line.holders[0].kind if line.holders else None,
                    running_turns=sum(t.kind == "turn" for t in line.holders),
                    waiting=len(line.waiting),
                    max_waiting=self.max_waiting,
                    avg_turn_s=round(line.avg_turn_s, 2),
                )
                for name, line in self._lines.items()
            ]

    def close(self) -> None:
        """Shutting down: background work waiting for the model gives up."""
        self.closed = True
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # -- internals -----------------------------------------------------------------------
    def _grant(self, line: _ModelLine, ticket: Ticket) -> None:
        line.holders.append(ticket)
        ticket.granted = True
        ticket.since = self.clock()
        ticket._notify()

    def _position(self, ticket: Ticket) -> int:
        if ticket.granted:
            return 0
        line = self._lines.get(ticket.model)
        if line is None or ticket not in line.waiting:
            return 0
        return line.waiting.index(ticket) + 1
