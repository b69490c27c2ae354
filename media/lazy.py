"""`LazyModel`: load a heavy model on first use behind a lock, unload it after an idle time.

Why: a laptop cannot hold a voice, whisper, an OCR reader and a diffusion pipeline in memory
all day for features used now and then. Each engine wraps its model in one of these, so the
state (unloaded | loading | ready | failed + reason) is visible in `/health` and loading
happens once even when several requests arrive together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

from media.errors import EngineUnavailableError, MediaError

log = logging.getLogger(__name__)

T = TypeVar("T")
EngineState = Literal["unloaded", "loading", "ready", "failed"]


class EngineStatus(BaseModel):
    """What `/health` shows about one engine."""

    name: str
    engine: str
    model: str | None = None
    state: EngineState
    detail: str | None = None
    load_seconds: float | None = None
    idle_unload_s: float | None = None
    in_use: int = 0


class LazyModel(Generic[T]):
    """Holds at most one loaded model; thread-safe.

    `use()` loads on demand and pins the model while the caller works with it, so the idle
    timer never unloads a model in use. A failed load is remembered with its reason and
    retried on the next use (the admin may have put the missing file in place meanwhile).
    """

    def __init__(
        self,
        name: str,
        loader: Callable[[], T],
        *,
        idle_unload_s: float | None,
        closer: Callable[[T], None] | None = None,
    ) -> None:
        self.name = name
        self._loader = loader
        self._closer = closer
        self.idle_unload_s = idle_unload_s
        self._load_lock = threading.Lock()  # serialises loads; held for seconds
        self._state_lock = threading.Lock()  # guards the fields below; held for microseconds
        self._model: T | None = None
        self._state: EngineState = "unloaded"
        self._detail: str | None = None
        self._load_seconds: float | None = None
        self._in_use = 0
        self._last_used = 0.0
        self._timer: threading.Timer | None = None

    @property
    def state(self) -> EngineState:
        with self._state_lock:
            return self._state

    def status(self, engine: str, model: str | None) -> EngineStatus:
        with self._state_lock:
            return EngineStatus(
                name=self.name,
                engine=engine,
                model=model,
                state=self._state,
                detail=self._detail,
                load_seconds=self._load_seconds,
                idle_unload_s=self.idle_unload_s,
                in_use=self._in_use,
            )

    def load(self) -> T:
        """Return the loaded model, loading it now if needed (blocking)."""
        with self._state_lock:
            if self._model is not None:
                return self._model
        with self._load_lock:
            with self._state_lock:
                if self._model is not None:  # another thread loaded it while we waited
                    return self._model
                self._state, self._detail = "loading", None
            started = time.monotonic()
            try:
                model = self._loader()
            except MediaError as exc:
                self._fail(str(exc))
                raise
            except Exception as exc:  # any loader failure becomes a visible state
                log.exception("loading %s failed", self.name)
                self._fail(f"{type(exc).__name__}: {exc}")
                raise EngineUnavailableError(f"{self.name} failed to load: {exc}") from exc
            with self._state_lock:
                self._model = model
                self._state, self._detail = "ready", None
                self._load_seconds = round(time.monotonic() - started, 3)
                self._last_used = time.monotonic()
            self._schedule_idle_check()
            return model

    def _fail(self, reason: str) -> None:
        with self._state_lock:
            self._state, self._detail = "failed", reason

    @contextmanager
    def use(self) -> Iterator[T]:
        """Pin the model for the duration of the block, loading it if needed."""
        while True:
            model = self.load()
            with self._state_lock:
                if self._model is model:  # not unloaded between load() and here
                    self._in_use += 1
                    break
        try:
            yield model
        finally:
            with self._state_lock:
                self._in_use -= 1
                self._last_used = time.monotonic()
            self._schedule_idle_check()

    def unload(self) -> bool:
        """Drop the model now unless it is in use; True when something was unloaded."""
        with self._load_lock, self._state_lock:
            if self._model is None or self._in_use:
                return False
            model, self._model = self._model, None
            self._state, self._detail, self._load_seconds = "unloaded", None, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self._closer is not None:
            try:
                self._closer(model)
            except Exception:  # a failing close must not keep the model "loaded"
                log.exception("closing %s failed", self.name)
        log.info("unloaded %s", self.name)
        return True

    def _schedule_idle_check(self, delay: float | None = None) -> None:
        if self.idle_unload_s is None:
            return
        with self._state_lock:
            if self._timer is not None:
                self._timer.cancel()
            timer = threading.Timer(
                self.idle_unload_s if delay is None else delay, self._idle_check
            )
            timer.daemon = True
            self._timer = timer
        timer.start()

    def _idle_check(self) -> None:
        assert self.idle_unload_s is not None
        with self._state_lock:
            if self._model is None or self._in_use:
                return
            remaining = self._last_used + self.idle_unload_s - time.monotonic()
        if remaining > 0.01:
            self._schedule_idle_check(remaining)
            return
        self.unload()
