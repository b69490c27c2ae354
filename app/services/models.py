"""Which model is in use: profiles, the active backend, switching, idle unload."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from models.backend import BackendStatus, LLMBackend
from models.factory import create_backend
from models.packaged import ProgressFn
from models.profiles import ModelProfile

log = logging.getLogger(__name__)


class ModelManager:
    """Owns the backends. One model is active; switching unloads the previous one."""

    def __init__(
        self,
        profiles: dict[str, ModelProfile],
        default: str,
        models_dir: Path,
        n_threads: int | None = None,
        warmup: bool = True,
        idle_unload_s: float = 0.0,
        backend_factory: Callable[[ModelProfile], LLMBackend] | None = None,
    ) -> None:
        if default not in profiles:
            known = ", ".join(sorted(profiles))
            raise ValueError(f"IKAR_DEFAULT_MODEL '{default}' is not a profile (known: {known})")
        self.profiles = profiles
        self.models_dir = models_dir
        self.n_threads = n_threads
        self.warmup = warmup
        self.idle_unload_s = idle_unload_s
        self._lock = threading.Lock()
        self._backends: dict[str, LLMBackend] = {}
        self._factory = backend_factory or self._default_factory
        self._active = default
        self.progress: ProgressFn | None = None
        self.load_progress: float = 0.0

    @property
    def active_name(self) -> str:
        return self._active

    def _default_factory(self, profile: ModelProfile) -> LLMBackend:
        return create_backend(
            profile, self.models_dir, self.n_threads, self.warmup, progress=self._on_progress
        )

    def backend(self, name: str | None = None) -> LLMBackend:
        name = name or self._active
        with self._lock:
            if name not in self._backends:
                self._backends[name] = self._factory(self.profiles[name])
            return self._backends[name]

    def set_active(self, name: str) -> None:
        if name not in self.profiles:
            raise KeyError(name)
        previous = self._active
        self._active = name
        if previous != name and previous in self._backends:
            self._backends[previous].unload()

    def status(self) -> BackendStatus:
        return self.backend().status()

    def statuses(self) -> dict[str, BackendStatus]:
        return {name: self.backend(name).status() for name in self.profiles}

    def unload_idle(self) -> None:
        for backend in list(self._backends.values()):
            backend.unload_if_idle(self.idle_unload_s)

    def unload_all(self) -> None:
        for backend in list(self._backends.values()):
            backend.unload()

    def _on_progress(self, fraction: float, what: str) -> None:
        self.load_progress = fraction
        if self.progress:
            self.progress(fraction, what)
