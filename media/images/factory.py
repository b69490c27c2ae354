"""Build the configured image engine."""

from __future__ import annotations

from media.config import ImageConfig
from media.images.base import ImageEngine


def build_image_engine(config: ImageConfig, torch_threads: int = 1) -> ImageEngine:
    if config.engine == "diffusers":
        from media.images.diffusers_engine import DiffusersEngine

        return DiffusersEngine(config, torch_threads=torch_threads)
    raise ValueError(f"unknown image engine {config.engine!r}")
