"""The `ImageEngine` protocol and the parameters of one image."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from media.lazy import EngineStatus

StepCallback = Callable[[int, int], object]
"""Called after each denoising step with (steps done, total steps)."""


class ImageParams(BaseModel):
    """What `POST /api/images` accepts; `None` means "the configured default"."""

    prompt: str = Field(min_length=1, description="What to draw.")
    negative_prompt: str | None = Field(default=None, description="What to avoid.")
    width: int | None = Field(default=None, description="Pixels, a multiple of 8.")
    height: int | None = Field(default=None, description="Pixels, a multiple of 8.")
    steps: int | None = Field(default=None, ge=1, description="Denoising steps.")
    guidance: float | None = Field(default=None, ge=0, le=50, description="CFG scale.")
    seed: int | None = Field(
        default=None, ge=0, le=2**32 - 1, description="Fixed seed; None: a random one."
    )


@runtime_checkable
class ImageEngine(Protocol):
    """A text-to-image generator. Blocking: callers run it in the image job queue."""

    name: str

    def resolve(self, params: ImageParams) -> ImageParams: ...

    def generate(
        self,
        params: ImageParams,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> bytes: ...

    def cache_inputs(self, params: ImageParams) -> dict[str, Any]: ...

    def status(self) -> EngineStatus: ...

    def unload(self) -> None: ...
