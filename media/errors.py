"""Errors the media subsystem raises; the API maps each to a status code and a clear message.

Every message is written for the person who has to act on it (a user with a bad file, an
admin with a missing model file), because the API shows it verbatim. An error may also name
a message key of the app's catalogue (`app/locales/media.py`) with its parameters, so the API
and the UI can say the same thing in Russian; `str(error)` stays the English text, for logs.
"""

from __future__ import annotations

from typing import Any


class MediaError(Exception):
    """Base class for everything media raises on purpose."""

    def __init__(self, message: str, *, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


class MediaInputError(MediaError):
    """The caller's input is unusable: not audio, a truncated image, too large... (HTTP 400/413)."""


class EngineUnavailableError(MediaError):
    """An engine's model files are missing or failed to load (HTTP 503)."""


class QueueFullError(MediaError):
    """The bounded queue for this kind of job is full; try again later (HTTP 429)."""


class JobTimeoutError(MediaError):
    """The job did not finish within its timeout, waiting time included (HTTP 504)."""


class JobCancelledError(MediaError):
    """The job was cancelled (stop button, client disconnect, explicit cancel)."""
