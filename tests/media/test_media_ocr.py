"""OCR engines on English lines (tesseract, easyocr), and safe decoding of hostile uploads."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest

from media.config import OCRConfig
from media.errors import EngineUnavailableError, MediaInputError
from media.image_input import load_image
from media.ocr.easyocr_engine import EasyOCREngine


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, format="PNG")
    return buf.getvalue()


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb's first bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _load(data: bytes, **limits: int) -> object:
    opts = {"max_bytes": 10_000_000, "max_pixels": 40_000_000, "max_side": 2560} | limits
    return load_image(data, **opts)


@pytest.mark.slow
@pytest.mark.parametrize("engine_fixture", ["ocr_engine", "easyocr_engine"])
def test_reads_a_rendered_two_line_image(
    engine_fixture: str, two_line_png: bytes, request: pytest.FixtureRequest
) -> None:
    """Both engines: tesseract (the default) and easyocr (by setting) read English lines."""
    result = request.getfixturevalue(engine_fixture).read(two_line_png)
    assert result.text == "Hello world 2024\nQuick brown fox"
    assert [line.text for line in result.lines] == ["Hello world 2024", "Quick brown fox"]
    first = result.lines[0]
    assert 0 < first.confidence <= 1 and len(first.box) == 4
    assert first.box[0][1] < result.lines[1].box[0][1]  # top line first


@pytest.mark.slow
def test_bad_upload_reaches_the_engine_as_a_clear_error(ocr_engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediaInputError, match="not an image"):
        ocr_engine.read(b"%PDF-1.4 not an image")


@pytest.mark.slow
def test_missing_language_model_names_the_file_and_folder(models_dir: Path) -> None:
    engine = EasyOCREngine(OCRConfig(languages=["ru"]), models_dir)
    with pytest.raises(EngineUnavailableError, match=r"cyrillic_g2\.pth.*easyocr_en_models"):
        engine.read(_png(64, 64))
    status = engine.status()
    assert status.state == "failed" and "cyrillic_g2.pth" in (status.detail or "")


def test_not_an_image() -> None:
    with pytest.raises(MediaInputError, match="not an image"):
        _load(b"hello, I am text")


def test_zero_bytes() -> None:
    with pytest.raises(MediaInputError, match="empty"):
        _load(b"")


def test_truncated_image() -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "red").save(buf, format="JPEG")
    data = buf.getvalue()
    with pytest.raises(MediaInputError, match=r"damaged or truncated|not an image"):
        _load(data[: len(data) // 3])


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(MediaInputError, match="pixels"):
        _load(_png_header_claiming(100_000, 100_000))


def test_dimensions_over_our_limit_are_refused() -> None:
    with pytest.raises(MediaInputError, match="megapixels"):
        _load(_png_header_claiming(8000, 6000), max_pixels=40_000_000)


def test_zero_size_dimensions() -> None:
    with pytest.raises(MediaInputError):
        _load(_png_header_claiming(0, 10))


def test_file_too_large() -> None:
    with pytest.raises(MediaInputError, match="MiB"):
        _load(_png(10, 10), max_bytes=10)


def test_unsupported_format_is_refused() -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="PPM")
    with pytest.raises(MediaInputError, match=r"not supported|not an image"):
        _load(buf.getvalue())


def test_large_images_are_downscaled() -> None:
    image = _load(_png(3000, 1000), max_side=1500)
    assert image.size == (1500, 500)  # type: ignore[attr-defined]
