"""Build the configured STT engine."""

from __future__ import annotations

from pathlib import Path

from media.config import STTConfig
from media.stt.base import STTEngine


def build_stt_engine(config: STTConfig, models_dir: Path) -> STTEngine:
    if config.engine == "faster-whisper":
        from media.stt.whisper_engine import WhisperEngine

        return WhisperEngine(config, models_dir)
    raise ValueError(f"unknown STT engine {config.engine!r}")
