"""`IkarError`: the one base of every error IKAR raises for a person to read.

Why it lives in `config/`: `models/`, `memory/` and `media/` must not import `app/` (except
`app.storage.database`), yet their errors reach the same API bodies and UI warnings as the
app's own. `config/` is the shared base every part may import and that imports nothing of
theirs, so the base sits here, next to `Settings`, with no dependency at all.

An error carries three things, never free text for people:
- `code`: a stable machine code for clients (`"timeout"`, `"persona_not_found"`);
- `status_code`: the HTTP status the REST edge answers with;
- `key`: a message key of the one catalogue (`app/locales`), filled with `params`.

Subclasses set the defaults as class attributes; an instance may name its own key and status
(a `ServiceError` does). `detail` is a technical detail (a library's message) that messages
may show through their `{detail}` placeholder. The REST edge (`app/api/errors.py`) and the
UI edge (`app/ui/errors.py`) each turn any `IkarError` into a Russian and English message.
"""

from __future__ import annotations

from typing import Any


class IkarError(Exception):
    """A deliberate, user-facing failure with a code, an HTTP status and a message key."""

    code: str = "internal"
    status_code: int = 500
    key: str = "error.internal"

    def __init__(self, detail: str = "", /, **params: Any) -> None:
        super().__init__(detail or self.key)
        self.detail = detail
        self.params: dict[str, Any] = params

    def message_params(self) -> dict[str, Any]:
        """What fills the message: `detail` plus the error's own parameters."""
        return {"detail": self.detail, **self.params}

    def headers(self) -> dict[str, str]:
        """HTTP headers the REST edge sends with this error (Retry-After, WWW-Authenticate)."""
        return {}


class MessageKey(str):
    """A message parameter that is itself a catalogue key, shown in the reader's language
    (e.g. the reason an import failed); an unknown key shows its last part."""


class FileTooLargeError(IkarError):
    """An upload over the configured limit; every component that takes files raises this."""

    code = "file_too_large"
    status_code = 413
    key = "error.file_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"over {limit} bytes", limit=limit)
        self.limit = limit


def check_upload_size(data: bytes, limit: int) -> bytes:
    """`data` if it fits `limit` bytes, else `FileTooLargeError`: the one upload-size rule."""
    if len(data) > limit:
        raise FileTooLargeError(limit)
    return data
