"""Build the configured OCR engine."""

from __future__ import annotations

from pathlib import Path

from media.config import OCRConfig
from media.ocr.base import OCREngine


def build_ocr_engine(config: OCRConfig, models_dir: Path, torch_threads: int = 1) -> OCREngine:
    """tesseract by default (Russian + English); easyocr when the setting asks for it."""
    if config.engine == "tesseract":
        from media.ocr.tesseract_engine import TesseractEngine

        return TesseractEngine(config)
    if config.engine == "easyocr":
        from media.ocr.easyocr_engine import EasyOCREngine

        return EasyOCREngine(config, models_dir, torch_threads=torch_threads)
    raise ValueError(f"unknown OCR engine {config.engine!r}")
