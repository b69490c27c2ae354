"""Lock out a key (a client address, an account name) after repeated failures.

One mechanism for every guessable secret: admin tokens (`AdminGate`) and passwords at the
Gradio login (`LoginThrottle`). Memory stays bounded however many keys an attacker invents.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class Lockouts:
    """`after` failures within `window_s` lock the key for `lockout_s` seconds."""

    def __init__(
        self,
        after: int,
        window_s: float,
        lockout_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = 10_000,
    ) -> None:
        if after < 1:
            raise ValueError("lockout_after must be >= 1")
        self.after = after
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.clock = clock
        self._max = max_tracked
        self._keys: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def remaining(self, key: str) -> float:
        """Seconds the key stays locked out (0.0: not locked)."""
        now = self.clock()
        with self._lock:
            state = self._keys.get(key)
            return max(0.0, state.locked_until - now) if state is not None else 0.0

    def fail(self, key: str) -> None:
        """Count one failure; the `after`-th within the window starts a lockout."""
        now = self.clock()
        with self._lock:
            state = self._keys.get(key)
            if state is None:
                if len(self._keys) >= self._max:
                    self._prune(now)
                state = self._keys[key] = _Failures()
            state.times.append(now)
            while state.times and state.times[0] <= now - self.window_s:
                state.times.popleft()
            if len(state.times) >= self.after:
                state.locked_until = now + self.lockout_s
                state.times.clear()

    def succeed(self, key: str) -> None:
        """Forget the key's failures (a right answer)."""
        with self._lock:
            self._keys.pop(key, None)

    def _prune(self, now: float) -> None:
        """Forget keys with no recent failures and no active lockout (bounded memory)."""
        stale = [
            key
            for key, s in self._keys.items()
            if s.locked_until <= now and (not s.times or s.times[-1] <= now - self.window_s)
        ]
        for key in stale:
            del self._keys[key]
        if len(self._keys) >= self._max:  # still full: drop the oldest entries
            for key in list(self._keys)[: len(self._keys) // 2]:
                del self._keys[key]
