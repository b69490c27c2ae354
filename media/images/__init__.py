"""Image generation: the `ImageEngine` protocol, the diffusers engine and the factory."""

from media.images.base import ImageEngine, ImageParams
from media.images.factory import build_image_engine

__all__ = ["ImageEngine", "ImageParams", "build_image_engine"]
