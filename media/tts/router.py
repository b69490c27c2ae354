"""`VoiceRouter`: one `TTSEngine` over several, choosing a voice by the text's language.

Why a router and not a bigger engine: piper and festival stay one file each, and everything
above (the media service, the chat, the API) keeps talking to one `TTSEngine`. The rule, in
order: a voice named in the request (a persona's voice) is used as it is; else the voice
configured for the language (`language_voices`); else the first engine in the list that has a
voice of that language, piper before festival, so a ru_RU piper voice a user adds wins over
festival. The language is the text's own (Cyrillic or Latin letters), else the caller's hint
(the persona's or UI language), else `default_language`. Speaking Russian with an English
voice is never a fallback: a language without a voice is a clear error naming what to install.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from media.config import TTSConfig
from media.errors import EngineUnavailableError, MediaError
from media.language import detect_language, normalize_language
from media.lazy import EngineStatus
from media.tts.base import SpeechChunk, TTSEngine, VoiceInfo, unknown_voice, voices_of_language
from media.tts.festival_engine import APT_LINE
from media.tts.sentences import clean_speech_text


@dataclass(frozen=True)
class VoiceRoute:
    """Where a text goes: the engine, the voice, and the language that decided it."""

    engine: TTSEngine
    voice: VoiceInfo
    language: str | None
    reason: str  # "named" | "configured" | "language" | "default": for logs and tests


class VoiceRouter:
    """A `TTSEngine` that hands each text to the engine owning the chosen voice."""

    name = "router"

    def __init__(self, engines: Sequence[TTSEngine], config: TTSConfig) -> None:
        if not engines:
            raise ValueError("a voice router needs at least one engine")
        self.engines = list(engines)
        self.config = config

    # -- voices --------------------------------------------------------------------------

    def _voice_table(self) -> list[tuple[TTSEngine, VoiceInfo]]:
        """Every engine's voices, engines in priority order; an id is owned by the first."""
        seen: set[str] = set()
        table: list[tuple[TTSEngine, VoiceInfo]] = []
        for engine in self.engines:
            try:
                voices = engine.voices()
            except MediaError:
                continue  # a broken engine must not hide the others' voices
            for voice in voices:
                if voice.id not in seen:
                    seen.add(voice.id)
                    table.append((engine, voice))
        return table

    def voices(self) -> list[VoiceInfo]:
        """All installed voices of all engines, sorted by language, then id."""
        return sorted(
            (v for _, v in self._voice_table()),
            key=lambda v: (normalize_language(v.language) or "~", v.id),
        )

    def language_of(self, text: str, hint: str | None = None) -> str:
        """The language a text is spoken in: its letters', else the hint, else the default."""
        return (
            detect_language(clean_speech_text(text))
            or normalize_language(hint)
            or normalize_language(self.config.default_language)
            or "en"
        )

    def route(self, text: str, voice: str | None = None, language: str | None = None) -> VoiceRoute:
        """Choose the engine and voice for `text` (see the module docstring for the rule)."""
        table = self._voice_table()
        by_id = {v.id: (engine, v) for engine, v in table}
        if voice:
            if voice not in by_id:
                raise unknown_voice(voice, {v.id: v for _, v in table})
            engine, info = by_id[voice]
            return VoiceRoute(engine, info, normalize_language(info.language), "named")
        lang = self.language_of(text, language)
        configured = self.config.language_voices.get(lang)
        if configured and configured in by_id:
            engine, info = by_id[configured]
            return VoiceRoute(engine, info, lang, "configured")
        for engine in self.engines:
            mine = [v for e, v in table if e is engine]
            if not voices_of_language(mine, lang):
                continue
            try:
                info = engine.resolve_voice(None, lang)
            except MediaError:
                continue
            if voices_of_language([info], lang):
                return VoiceRoute(engine, info, lang, "language")
        raise self._no_voice(lang, table)

    def _no_voice(self, lang: str, table: list[tuple[TTSEngine, VoiceInfo]]) -> MediaError:
        """A clear error: which language, which voices exist, which engine is missing."""
        problems = [s.detail for s in self.statuses().values() if s.state == "failed" and s.detail]
        installed = ", ".join(sorted({v.language or "?" for _, v in table})) or "-"
        if lang == "ru":
            hint = f"install `{APT_LINE}` or put a ru_RU piper voice into the voices folder"
            key, params = "media.no_russian_voice", {"installed": installed, "apt": APT_LINE}
        else:
            hint = (
                f"put a {lang} piper voice (<name>.onnx + <name>.onnx.json) into the voices folder"
            )
            key, params = "media.no_voice_for_language", {"language": lang, "installed": installed}
        detail = "; ".join([*problems, hint])
        return EngineUnavailableError(
            f"no voice speaks {lang!r} (installed: {installed}): {detail}", key=key, **params
        )

    def resolve_voice(self, voice: str | None, language: str | None = None) -> VoiceInfo:
        """The voice a text in `language` (or the named voice) would be spoken with."""
        return self.route("", voice, language).voice

    # -- synthesis -----------------------------------------------------------------------

    def stream(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> Iterator[SpeechChunk]:
        """The chosen engine's sentence-by-sentence audio."""
        route = self.route(text, voice, language)
        yield from route.engine.stream(text, route.voice.id, cancel, language=route.language)

    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> bytes:
        route = self.route(text, voice, language)
        return route.engine.synthesize(text, route.voice.id, cancel, language=route.language)

    def cache_inputs(
        self, text: str, voice: str | None, *, language: str | None = None
    ) -> dict[str, Any]:
        """The chosen engine's inputs: the same text to the same voice is the same audio."""
        route = self.route(text, voice, language)
        return route.engine.cache_inputs(text, route.voice.id, language=route.language)

    # -- state ---------------------------------------------------------------------------

    def statuses(self) -> dict[str, EngineStatus]:
        """Each engine's own status, by engine name."""
        return {engine.name: engine.status() for engine in self.engines}

    def status(self) -> EngineStatus:
        """One status for speech: the busiest usable engine's, naming any missing engine.

        A missing festival does not make speech "failed" while piper still speaks English;
        the detail says what is missing so `/health` tells the admin what to install.
        """
        parts = self.statuses()
        usable = {n: s for n, s in parts.items() if s.state != "failed"}
        broken = {n: s for n, s in parts.items() if s.state == "failed"}
        notes = "; ".join(f"{n}: {s.detail}" for n, s in broken.items() if s.detail)
        if not usable:
            first = next(iter(broken.values()))
            return first.model_copy(update={"engine": "+".join(parts), "detail": notes})
        order = {"loading": 0, "ready": 1, "unloaded": 2}
        chosen = min(usable.values(), key=lambda s: order.get(s.state, 3))
        detail = "; ".join(d for d in (chosen.detail, notes) if d) or None
        return chosen.model_copy(update={"engine": "+".join(parts), "detail": detail})

    def unload(self) -> None:
        for engine in self.engines:
            engine.unload()
