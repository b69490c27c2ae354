"""The `STTEngine` protocol: audio bytes and a language in, text out."""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from media.lazy import EngineStatus


class Transcript(BaseModel):
    """What `POST /api/stt` returns."""

    text: str
    language: str
    duration_s: float | None = None
    detected: bool = False  # True when the language was detected, not given
    language_probability: float | None = None  # whisper's confidence in a detected language


@runtime_checkable
class STTEngine(Protocol):
    """A speech recogniser. Blocking: callers run it in a media job queue."""

    name: str

    def transcribe(
        self, audio: bytes, language: str | None = None, cancel: threading.Event | None = None
    ) -> Transcript: ...

    def cache_inputs(self, audio: bytes, language: str | None) -> dict[str, Any]: ...

    def status(self) -> EngineStatus: ...

    def unload(self) -> None: ...
