"""IKAR's media subsystem: speech out (piper for English, festival for Russian, chosen by the
text's language), speech in (faster-whisper), text in images (tesseract rus+eng, or easyocr),
images out (diffusers), plus the job queues and artifact cache they share.

The composition root builds one `MediaService` from a `MediaConfig`, the shared `Database` and
a cache directory; the REST API, chat and Gradio UI only talk to that facade. Engines load
lazily on first use, so importing this package is cheap (no torch, no onnxruntime).
"""

from media.config import MediaConfig
from media.errors import (
    EngineUnavailableError,
    JobCancelledError,
    JobTimeoutError,
    MediaError,
    MediaInputError,
    QueueFullError,
)
from media.markers import ImageRequest, MediaRequest, SpeakRequest, parse_markers
from media.service import MediaService

__all__ = [
    "EngineUnavailableError",
    "ImageRequest",
    "JobCancelledError",
    "JobTimeoutError",
    "MediaConfig",
    "MediaError",
    "MediaInputError",
    "MediaRequest",
    "MediaService",
    "QueueFullError",
    "SpeakRequest",
    "parse_markers",
]
