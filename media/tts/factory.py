"""Build the configured TTS engine: piper, festival, or both behind a `VoiceRouter`."""

from __future__ import annotations

from media.config import TTSConfig
from media.tts.base import TTSEngine


def build_tts_engine(config: TTSConfig) -> TTSEngine:
    """ "auto" routes each text to a voice of its language (piper first, then festival)."""
    from media.tts.festival_engine import FestivalEngine
    from media.tts.piper_engine import PiperEngine
    from media.tts.router import VoiceRouter

    if config.engine == "piper":
        return VoiceRouter([PiperEngine(config)], config)
    if config.engine == "festival":
        return VoiceRouter([FestivalEngine(config)], config)
    if config.engine == "auto":
        return VoiceRouter([PiperEngine(config), FestivalEngine(config)], config)
    raise ValueError(f"unknown TTS engine {config.engine!r}")
