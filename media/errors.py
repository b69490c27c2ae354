"""Errors the media subsystem raises, each with its code, HTTP status and message key.

They are `IkarError`s (config/errors.py). The `detail` passed at the raise site is written for
the person who has to act on it (a user with a bad file, an admin with a missing model file);
the catalogue (app/locales/media.py) wraps it in a Russian and an English sentence.
"""

from typing import Any

from config.errors import IkarError


class MediaError(IkarError):
    """Base class for everything media raises on purpose."""

    code = "media_error"
    status_code = 500
    key = "error.media_failed"

    def __init__(self, detail: str = "", /, *, key: str | None = None, **params: Any) -> None:
        # An engine may name a more precise catalogue message (app/locales/media.py) than
        # its class's; `detail` stays the English text, for logs and the {detail} slot.
        super().__init__(detail, **params)
        if key is not None:
            self.key = key


class MediaInputError(MediaError):
    """The caller's input is unusable: not audio, a truncated image, too large... (HTTP 400)."""

    code = "bad_media_input"
    status_code = 400
    key = "media.error.bad_input"


class EngineUnavailableError(MediaError):
    """An engine's model files are missing or failed to load (HTTP 503)."""

    code = "engine_unavailable"
    status_code = 503
    key = "media.error.engine_unavailable"


class QueueFullError(MediaError):
    """The bounded queue for this kind of job is full; try again later (HTTP 429)."""

    code = "queue_full"
    status_code = 429
    key = "media.error.queue_full"


class JobTimeoutError(MediaError):
    """The job did not finish within its timeout, waiting time included (HTTP 504)."""

    code = "timeout"
    status_code = 504
    key = "media.error.timeout"


class JobCancelledError(MediaError):
    """The job was cancelled (stop button, client disconnect, explicit cancel)."""

    code = "cancelled"
    status_code = 409
    key = "media.error.cancelled"
