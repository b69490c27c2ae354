"""Speech to text: the `STTEngine` protocol, the faster-whisper engine and the factory."""

from media.stt.base import STTEngine, Transcript
from media.stt.factory import build_stt_engine

__all__ = ["STTEngine", "Transcript", "build_stt_engine"]
