"""Text to speech: the `TTSEngine` protocol, the piper engine and the factory."""

from media.tts.base import SpeechChunk, TTSEngine, VoiceInfo
from media.tts.factory import build_tts_engine

__all__ = ["SpeechChunk", "TTSEngine", "VoiceInfo", "build_tts_engine"]
