"""Shared fixtures: real engines are loaded once per session and shared by the tests.

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
    from media.tts import build_tts_engine

    return build_tts_engine(TTSConfig())


@pytest.fixture(scope="session")
def whisper_engine(models_dir: Path):  # type: ignore[no-untyped-def]
    from media.stt import build_stt_engine

    return build_stt_engine(STTConfig(cpu_threads=1), models_dir)


@pytest.fixture(scope="session")
def ocr_engine(models_dir: Path):  # type: ignore[no-untyped-def]
    from media.ocr import build_ocr_engine

    return build_ocr_engine(OCRConfig(), models_dir, torch_threads=1)


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
