"""The `TTSEngine` protocol: text in, WAV bytes or sentence-sized PCM chunks out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from media.audio import pcm16_to_wav
from media.errors import MediaInputError
from media.language import normalize_language
from media.lazy import EngineStatus


class VoiceInfo(BaseModel):
    """One selectable voice; `id` is unique across engines and is what a request names."""

    id: str
    engine: str = "piper"
    language: str | None = None  # the voice's locale as its files give it: en_US, ru...
    sample_rate: int
    bundled: bool = False  # shipped with a package (not added by the user)
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
    """A speech synthesiser. Blocking: callers run it in a media job queue.

    `voice` names a voice from `voices()`; with none, `language` (a code like 'ru', or None)
    lets the engine pick a voice of that language.
    """

    name: str

    def voices(self) -> list[VoiceInfo]: ...

    def resolve_voice(self, voice: str | None, language: str | None = None) -> VoiceInfo: ...

    def stream(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> Iterator[SpeechChunk]: ...

    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> bytes: ...

    def cache_inputs(
        self, text: str, voice: str | None, *, language: str | None = None
    ) -> dict[str, Any]: ...

    def status(self) -> EngineStatus: ...

    def unload(self) -> None: ...


class StreamedSynthesis:
    """`synthesize` for an engine whose real work is `stream`: the whole text is its
    sentence chunks joined into one WAV file."""

    def stream(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> Iterator[SpeechChunk]:
        raise NotImplementedError

    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> bytes:
        """The whole text as one WAV file."""
        return join_chunks(self.stream(text, voice, cancel, language=language))


def voices_of_language(voices: list[VoiceInfo], language: str | None) -> list[VoiceInfo]:
    """The voices whose locale is `language` ('ru' matches ru_RU and ru-ru), in list order."""
    wanted = normalize_language(language)
    return [v for v in voices if wanted and normalize_language(v.language) == wanted]


def unknown_voice(voice: str, available: dict[str, VoiceInfo]) -> MediaInputError:
    """The error for a voice id that no engine has (the id is cut: it is user input)."""
    names = ", ".join(sorted(available)) or "-"
    return MediaInputError(
        f"unknown voice {voice[:80]!r}; available: {names}",
        key="media.unknown_voice",
        voice=voice[:80],
        available=names,
    )


def join_chunks(chunks: Iterator[SpeechChunk]) -> bytes:
    """All chunks as one WAV file; refused when there was nothing to say."""
    parts: list[bytes] = []
    rate = 0
    for chunk in chunks:
        parts.append(chunk.pcm)
        rate = chunk.sample_rate
    if not parts:
        raise MediaInputError(
            "the text contains nothing that can be spoken", key="media.nothing_to_say"
        )
    return pcm16_to_wav(b"".join(parts), rate)
