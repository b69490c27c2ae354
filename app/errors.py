"""How any `IkarError` reads to people: its message in Russian and English, and its HTTP form.

The base error (`config/errors.py`) carries a code, an HTTP status and a message key; this
module is the one place that turns those into text, for both edges: the REST handler
(`app/api/errors.py`) and the UI (`app/ui/errors.py`).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from app.i18n import LANGS, Lang, accepted_languages, t
from config.errors import IkarError


def message(exc: IkarError, lang: str | None) -> str:
    """The error's message in `lang` (Russian or English)."""
    return t(exc.key, lang, **exc.message_params())


def messages(exc: IkarError) -> dict[str, str]:
    """The error's message in every UI language."""
    return {lang: message(exc, lang) for lang in LANGS}


def prefers_russian(accept_language: str | None) -> bool:
    """True when the first language in an Accept-Language header is Russian."""
    first = accepted_languages(accept_language)[:1]
    return bool(first) and (first[0] == "ru" or first[0].startswith("ru-"))


def client_lang(accept_language: str | None) -> Lang:
    """The language of `message` in an API body: Russian if the client prefers it, else English."""
    return "ru" if prefers_russian(accept_language) else "en"


def error_body(exc: IkarError, accept_language: str | None = None) -> dict[str, Any]:
    """The one JSON error body: `{"error": code, "message": text, "messages": {ru, en}}`."""
    return render_body(exc.code, exc.key, exc.message_params(), accept_language)


def render_body(
    code: str, key: str, params: dict[str, Any], accept_language: str | None = None
) -> dict[str, Any]:
    """`error_body` from its parts (a failed chat turn reports them, not the exception)."""
    both = {lang: t(key, lang, **params) for lang in LANGS}
    return {"error": code, "message": both[client_lang(accept_language)], "messages": both}


class ErrorHTTPException(HTTPException):
    """An `IkarError` in HTTP form, for FastAPI dependencies that must answer with the right
    status even in an app without IKAR's handlers (its `detail` is the error body)."""

    def __init__(self, error: IkarError, accept_language: str | None = None) -> None:
        body: Any = error_body(error, accept_language)  # Starlette types detail as str
        super().__init__(
            status_code=error.status_code, detail=body, headers=error.headers() or None
        )
        self.error = error
