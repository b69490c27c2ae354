"""The `TTSEngine` protocol: text in, WAV bytes or sentence-sized PCM chunks out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from media.audio import pcm16_to_wav
from media.lazy import EngineStatus


class VoiceInfo(BaseModel):
    """One selectable voice."""

    id: str
    language: str | None = None
    sample_rate: int
    bundled: bool = False
    path: str


@dataclass(frozen=True)
class SpeechChunk:
    """The audio of one sentence: 16-bit mono PCM, playable on its own."""

    index: int
    pcm: bytes
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate

    def wav(self) -> bytes:
        """This chunk as a complete WAV file (for players that take one file per chunk)."""
        return pcm16_to_wav(self.pcm, self.sample_rate)


@runtime_checkable
class TTSEngine(Protocol):
    """A speech synthesiser. Blocking: callers run it in a media job queue."""

    name: str

    def voices(self) -> list[VoiceInfo]: ...

    def resolve_voice(self, voice: str | None) -> VoiceInfo: ...

    def stream(
        self, text: str, voice: str | None = None, cancel: threading.Event | None = None
    ) -> Iterator[SpeechChunk]: ...

    def synthesize(
        self, text: str, voice: str | None = None, cancel: threading.Event | None = None
    ) -> bytes: ...

    def cache_inputs(self, text: str, voice: str | None) -> dict[str, Any]: ...

    def status(self) -> EngineStatus: ...

    def unload(self) -> None: ...
