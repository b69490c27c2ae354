"""faster-whisper (CTranslate2, int8 on CPU): offline speech recognition.

Why these choices: int8 whisper-base transcribes English at ~0.1x real time on a laptop CPU
without torch. The caller's language (the message or UI language) is passed whenever it is
known: detection on short clips is unreliable and costs a pass. Without one, detection
chooses only among the languages the app speaks (Russian, English). Clips are padded with
~0.5 s of silence, because whisper often drops the first or last word of a clip that starts or
ends mid-speech.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from pathlib import Path
from typing import Any

import numpy as np

from media.audio import WHISPER_RATE, decode_audio
from media.config import STTConfig
from media.errors import EngineUnavailableError, JobCancelledError, MediaInputError
from media.language import normalize_language
from media.lazy import EngineStatus, LazyModel
from media.stt.base import Transcript
from media.stt.packaged_whisper import WhisperAssembler


def _versions() -> str:
    out = []
    for dist in ("faster-whisper", "ctranslate2"):
        try:
            out.append(f"{dist}={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{dist}=missing")
    return ",".join(out)


class WhisperEngine:
    """One whisper model folder, loaded lazily."""

    name = "faster-whisper"

    def __init__(self, config: STTConfig, models_dir: Path) -> None:
        self.config = config
        self._assembler: WhisperAssembler | None = None
        if config.model_dir is None:
            self._assembler = WhisperAssembler(Path(models_dir) / "whisper-base")
        self._lazy: LazyModel[Any] = LazyModel(
            "stt", self._load, idle_unload_s=config.idle_unload_s
        )
        self._digest: str | None = None
        self._digest_lock = threading.Lock()

    @property
    def model_dir(self) -> Path:
        if self._assembler is not None:
            return self._assembler.target
        assert self.config.model_dir is not None
        return self.config.model_dir

    def prepare(self) -> Path:
        """Make sure the model folder exists (assembling the packaged model once)."""
        if self._assembler is not None:
            return self._assembler.ensure()
        if not (self.model_dir / "model.bin").is_file():
            raise EngineUnavailableError(
                f"no whisper model in {self.model_dir}: put a CTranslate2 whisper folder there "
                "(model.bin, config.json, tokenizer.json, vocabulary.txt)"
            )
        return self.model_dir

    def _load(self) -> Any:
        from faster_whisper import WhisperModel

        folder = self.prepare()
        return WhisperModel(
            str(folder),
            device=self.config.device,
            compute_type=self.config.compute_type,
            cpu_threads=self.config.cpu_threads,
            num_workers=1,
            local_files_only=True,
        )

    def check_language(self, language: str | None) -> str | None:
        """The language to pass to whisper, validated; None: detect it from the audio.

        'ru-RU' and 'ru_RU' mean 'ru'; None, '' and 'auto' fall back to the configured
        default, and with no default to detection.
        """
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        raw = (language or "").strip()
        lang = normalize_language(raw)
        if lang is None and raw and raw.lower() != "auto":
            raise MediaInputError(
                f"unsupported language code {raw[:20]!r}; use a whisper code like 'en' or 'ru'",
                key="media.bad_language",
                code=raw[:20],
            )
        if lang is None:
            lang = normalize_language(self.config.default_language)
        if lang is not None and lang not in _LANGUAGE_CODES:
            raise MediaInputError(
                f"unsupported language code {lang[:20]!r}; use a whisper code like 'en' or 'ru'",
                key="media.bad_language",
                code=lang[:20],
            )
        return lang

    def transcribe(
        self, audio: bytes, language: str | None = None, cancel: threading.Event | None = None
    ) -> Transcript:
        """Recognise speech in `audio` (WAV, or anything PyAV decodes) in `language`.

        With no language (and no configured default) the language is detected first, but only
        among `detect_languages`: on a short or synthetic clip whisper's own guess is often a
        third language, while the choice between Russian and English is reliable.
        """
        lang = self.check_language(language)
        samples = self.decode(audio)
        duration = samples.size / WHISPER_RATE
        pad = np.zeros(int(self.config.pad_s * WHISPER_RATE), dtype=np.float32)
        samples = np.concatenate([pad, samples, pad])
        probability: float | None = None
        with self._lazy.use() as model:
            detected = lang is None
            if lang is None:
                lang, probability = self._detect(model, samples)
            segments, _info = model.transcribe(
                samples,
                language=lang,
                task="transcribe",
                beam_size=self.config.beam_size,
                vad_filter=False,
                condition_on_previous_text=False,
            )
            texts = []
            for segment in segments:  # a generator: decoding happens while we iterate
                if cancel is not None and cancel.is_set():
                    raise JobCancelledError("speech recognition was cancelled")
                texts.append(segment.text.strip())
        return Transcript(
            text=" ".join(t for t in texts if t).strip(),
            language=lang,
            duration_s=round(duration, 3),
            detected=detected,
            language_probability=probability,
        )

    def _detect(self, model: Any, samples: np.ndarray) -> tuple[str, float]:
        """The most likely language among the allowed ones, and its probability."""
        _best, _p, ranked = model.detect_language(samples)
        allowed = {normalize_language(c) for c in self.config.detect_languages} - {None}
        for code, probability in ranked:
            if not allowed or code in allowed:
                return str(code), round(float(probability), 4)
        return str(_best), round(float(_p), 4)

    def decode(self, audio: bytes) -> np.ndarray:
        if len(audio) > self.config.max_bytes:
            raise MediaInputError(
                f"the audio file is {len(audio) // (1024 * 1024)} MiB; the limit is "
                f"{self.config.max_bytes // (1024 * 1024)} MiB"
            )
        samples = decode_audio(audio, max_seconds=self.config.max_audio_s)
        if samples.size < WHISPER_RATE // 20:
            raise MediaInputError("the audio is too short to contain speech (under 50 ms)")
        return samples

    def cache_inputs(self, audio: bytes, language: str | None) -> dict[str, Any]:
        return {
            "engine": self.name,
            "versions": _versions(),
            "model_sha256": self._model_digest(),
            "compute_type": self.config.compute_type,
            "beam_size": self.config.beam_size,
            "pad_s": self.config.pad_s,
            "language": self.check_language(language) or "auto",
            "detect_languages": sorted(self.config.detect_languages),
            "audio": audio,
        }

    def _model_digest(self) -> str:
        with self._digest_lock:
            if self._digest is None:
                folder = self.prepare()
                h = hashlib.sha256()
                for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
                    path = folder / name
                    if path.is_file():
                        with path.open("rb") as f:
                            while block := f.read(1 << 20):
                                h.update(block)
                self._digest = h.hexdigest()
            return self._digest

    def status(self) -> EngineStatus:
        return self._lazy.status(self.name, str(self.model_dir))

    def unload(self) -> None:
        self._lazy.unload()
