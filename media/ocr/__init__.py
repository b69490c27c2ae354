"""Text in images: the `OCREngine` protocol, the tesseract and easyocr engines, the factory."""

from media.ocr.base import OCREngine, OCRLine, OCRResult
from media.ocr.factory import build_ocr_engine

__all__ = ["OCREngine", "OCRLine", "OCRResult", "build_ocr_engine"]
