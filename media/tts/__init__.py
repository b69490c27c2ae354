"""Text to speech: the `TTSEngine` protocol, piper and festival engines, the language router."""

from media.tts.base import SpeechChunk, TTSEngine, VoiceInfo
from media.tts.factory import build_tts_engine

__all__ = ["SpeechChunk", "TTSEngine", "VoiceInfo", "build_tts_engine"]
