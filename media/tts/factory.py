"""Build the configured TTS engine (one engine today; a new one is a new file + a branch)."""

from __future__ import annotations

from media.config import TTSConfig
from media.tts.base import TTSEngine


def build_tts_engine(config: TTSConfig) -> TTSEngine:
    if config.engine == "piper":
        from media.tts.piper_engine import PiperEngine

        return PiperEngine(config)
    raise ValueError(f"unknown TTS engine {config.engine!r}")
