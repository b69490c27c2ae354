"""The `OCREngine` protocol: image bytes in, recognised lines out."""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from media.lazy import EngineStatus


class OCRLine(BaseModel):
    """One recognised piece of text and where it is (4 corner points, image pixels)."""

    text: str
    confidence: float = Field(ge=0, le=1)
    box: list[list[int]]


class OCRResult(BaseModel):
    """What `POST /api/ocr` returns: the pieces, and the whole text in reading order."""

    lines: list[OCRLine]
    text: str


@runtime_checkable
class OCREngine(Protocol):
    """A text recogniser. Blocking: callers run it in a media job queue."""

    name: str

    def read(self, image: bytes, cancel: threading.Event | None = None) -> OCRResult: ...

    def cache_inputs(self, image: bytes) -> dict[str, Any]: ...

    def status(self) -> EngineStatus: ...

    def unload(self) -> None: ...
