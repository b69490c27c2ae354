"""When consolidation runs by itself: in idle time, or in a night window (the original's
"optimizer").

Why a schedule and not a button only: nobody presses it, and an unconsolidated memory of a
year of chats is slower and noisier to search. Why not "whenever": summarising uses the same
model as the chat; a user waiting behind a summary is worse than a day-old summary. So the
app ticks this every 30 s; a run starts when no turn has happened for `idle_after_s` (or the
clock is inside the night window) and the last run is `min_interval_s` ago. A chat turn that
starts while an automatic run is going cancels it; the consolidator keeps which windows it
finished in SQLite, so the next idle time resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from memory.config import ConsolidationSchedule
from memory.consolidation import Consolidator
from memory.types import ScheduleStatus


class ConsolidationScheduler:
    """Decides, at each `tick()`, whether to start or interrupt an automatic run."""

    def __init__(
        self,
        config: ConsolidationSchedule,
        consolidator: Consolidator,
        last_activity: Callable[[], float],
        busy: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.consolidator = consolidator
        self.last_activity = last_activity  # wall-clock time of the latest chat turn
        self.busy = busy
        self.clock = clock
        self._auto_running = False
        self.auto_runs = 0
        self.interrupted = 0
        self.last_auto_at: float | None = None
        self.waiting_for = "idle"

    def _in_night(self, now: float) -> bool:
        hour = datetime.fromtimestamp(now).hour
        start, end = self.config.night_start_hour, self.config.night_end_hour
        return start <= hour < end if start <= end else hour >= start or hour < end

    def tick(self) -> bool:
        """Start an automatic run when due; interrupt one a chat turn needs the model for.
        Returns True when a run was started."""
        now = self.clock()
        running = self.consolidator.status().state != "idle"
        if self._auto_running and not running:
            self._auto_running = False
        if self._auto_running and self.busy():
            if self.consolidator.cancel():  # resumed at the next idle time
                self.interrupted += 1
            self._auto_running = False
            return False
        mode = self.config.mode
        if mode == "off":
            self.waiting_for = "off"
            return False
        if running:
            self.waiting_for = ""
            return False
        last = max(self.last_auto_at or 0.0, self.consolidator.last_finished_at() or 0.0)
        if now - last < self.config.min_interval_s:
            self.waiting_for = "interval"
            return False
        idle = now - self.last_activity() >= self.config.idle_after_s and not self.busy()
        night = self._in_night(now) and not self.busy()
        due = idle if mode == "idle" else night if mode == "night" else idle or night
        if not due:
            self.waiting_for = "night" if mode == "night" else "idle"
            return False
        if self.consolidator.start(None):
            self._auto_running = True
            self.auto_runs += 1
            self.last_auto_at = now
            self.waiting_for = ""
            return True
        return False

    def status(self) -> ScheduleStatus:
        return ScheduleStatus(
            mode=self.config.mode,
            auto_runs=self.auto_runs,
            interrupted=self.interrupted,
            last_auto_at=self.last_auto_at,
            waiting_for=self.waiting_for,
        )
