"""Shared fixtures: real engines are loaded once per session and shared by the tests.

festival (+ festvox-ru) and tesseract (+ tesseract-ocr-rus) are Debian packages that
`scripts/install.sh` installs when run as root; their fixtures fail with that instruction
when they are missing rather than skipping, so a missing Russian voice is never green.

Each engine fixture builds its engine with the same factory the app uses; the tiny diffusion
pipeline is saved to a folder and loaded through `DiffusersEngine` exactly like a user's.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.storage.database import Database
from media.config import ImageConfig, MediaConfig, OCRConfig, STTConfig, TTSConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media-models")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from media.images.tiny_pipeline import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd") / "pipeline")


@pytest.fixture(scope="session")
def piper_engine():  # type: ignore[no-untyped-def]
    from media.tts.piper_engine import PiperEngine

    return PiperEngine(TTSConfig())


@pytest.fixture(scope="session")
def festival_engine():  # type: ignore[no-untyped-def]
    """The real festival engine; tests using it need Debian's festival + festvox-ru."""
    from media.tts.festival_engine import FestivalEngine

    engine = FestivalEngine(TTSConfig())
    problem = engine.missing()
    assert problem is None, f"{problem}: run `bash scripts/install.sh --test` as root"
    yield engine
    engine.unload()


@pytest.fixture(scope="session")
def tts_engine(piper_engine, festival_engine):  # type: ignore[no-untyped-def]
    """What the app builds by default: piper and festival behind the language router."""
    from media.tts.router import VoiceRouter

    return VoiceRouter([piper_engine, festival_engine], TTSConfig())


@pytest.fixture(scope="session")
def whisper_engine(models_dir: Path):  # type: ignore[no-untyped-def]
    from media.stt import build_stt_engine

    return build_stt_engine(STTConfig(cpu_threads=1), models_dir)


@pytest.fixture(scope="session")
def ocr_engine(models_dir: Path):  # type: ignore[no-untyped-def]
    """The default OCR engine (tesseract rus+eng); needs Debian's tesseract-ocr(-rus)."""
    from media.ocr import build_ocr_engine

    engine = build_ocr_engine(OCRConfig(), models_dir, torch_threads=1)
    status = engine.status()
    assert status.state != "failed", f"{status.detail}: run `bash scripts/install.sh --test`"
    return engine


@pytest.fixture(scope="session")
def easyocr_engine(models_dir: Path):  # type: ignore[no-untyped-def]
    """easyocr with the bundled English models (still available by setting)."""
    from media.ocr import build_ocr_engine

    return build_ocr_engine(OCRConfig(engine="easyocr"), models_dir, torch_threads=1)


@pytest.fixture(scope="session")
def image_engine(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    from media.images import build_image_engine

    return build_image_engine(
        ImageConfig(model=str(tiny_model_dir), device="cpu", default_width=64, default_height=64),
        torch_threads=1,
    )


@pytest.fixture(scope="session")
def fox_wav(piper_engine) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(piper_engine.synthesize("The quick brown fox jumps over the lazy dog."))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "ikar.db")
    yield database
    database.close()


@pytest.fixture
def media_config(models_dir: Path, tiny_model_dir: Path) -> MediaConfig:
    return MediaConfig(
        models_dir=models_dir,
        image=ImageConfig(
            model=str(tiny_model_dir), device="cpu", default_width=64, default_height=64
        ),
    )


@pytest.fixture(scope="session")
def two_line_png() -> bytes:
    """A 640x160 white image with two lines of black text in Pillow's scalable default font."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 160), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=40)
    draw.text((20, 20), "Hello world 2024", fill="black", font=font)
    draw.text((20, 90), "Quick brown fox", fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_silence_wav(seconds: float, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


@pytest.fixture
def silence_wav():  # type: ignore[no-untyped-def]
    """A function making a 16-bit mono WAV of silence of the given length."""
    return make_silence_wav


CYRILLIC_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def render_lines(
    lines: list[str], *, size: int = 36, rotate: float = 0.0, blur: float = 0.0
) -> bytes:
    """A PNG with `lines` in DejaVu Sans (Debian fonts-dejavu-core: it has Cyrillic)."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    assert CYRILLIC_FONT.is_file(), "fonts-dejavu-core is missing: run scripts/install.sh --test"
    font = ImageFont.truetype(str(CYRILLIC_FONT), size)
    width = max(int(font.getlength(line)) for line in lines) + 2 * size
    img = Image.new("RGB", (width, size * 2 * len(lines) + size), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((size, size // 2 + i * size * 2), line, fill="black", font=font)
    if rotate:
        img = img.rotate(rotate, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def char_error_rate(expected: str, heard: str) -> float:
    """Levenshtein distance over characters / expected length, case and punctuation ignored."""
    a, b = _normalise(expected), _normalise(heard)
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[len(b)] / max(1, len(a))


def _normalise(text: str) -> str:
    import re

    text = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())
