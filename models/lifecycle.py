"""Shared load/unload bookkeeping for anything heavy that loads lazily."""

from __future__ import annotations

import threading
import time
from typing import Literal

LoadState = Literal["unloaded", "loading", "ready", "failed"]


class LoadTracker:
    """State, failure reason and last use of a lazily loaded resource.

    Kept separate from the resource so `/health` can read the state without taking the
    (possibly long-held) load lock.
    """

    def __init__(self) -> None:
        self.state: LoadState = "unloaded"
        self.detail: str | None = None
        self.last_used = time.monotonic()
        self.lock = threading.RLock()

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def idle_for(self) -> float:
        return time.monotonic() - self.last_used
