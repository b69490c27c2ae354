"""Security errors and their HTTP form.

Domain errors (`AdminDisabledError`, `RateLimitedError`, ...) are framework-agnostic so the
Gradio tabs and services can raise and catch them. At the HTTP edge they become a
`SecurityHTTPException`: a Starlette `HTTPException`, so it gets the right status code even if
no handler is registered (body `{"detail": {...}}`), and FastAPI's body parsing re-raises it
instead of turning it into a 400. Registering `security_exception_handler` flattens the body
to `{"error": code, "message": text}`.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.i18n import t


def message(code: str, accept_language: str | None = None) -> str:
    """The message for `code` (app/locales/security.py) in Russian if the client prefers it."""
    return t(f"security.{code}", "ru" if prefers_russian(accept_language) else "en")


def prefers_russian(accept_language: str | None) -> bool:
    """True when the first language in an Accept-Language header is Russian."""
    if not accept_language:
        return False
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first == "ru" or first.startswith("ru-")


class SecurityError(Exception):
    """Base for security decisions that refuse a request."""

    code = "forbidden"


class AdminDisabledError(SecurityError):
    """No admin token is configured, so the admin surface is closed (never open)."""

    code = "admin_disabled"


class AdminUnauthorizedError(SecurityError):
    """The admin token is missing or wrong."""

    code = "admin_unauthorized"


class RetryLaterError(SecurityError):
    """A refusal that ends after `retry_after` seconds."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {retry_after:.1f}s")
        self.retry_after = max(0.0, retry_after)

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, never 0 (Retry-After takes an integer)."""
        return str(max(1, int(-(-self.retry_after // 1))))


class AdminLockedOutError(RetryLaterError):
    """Too many wrong admin tokens from one client; refused until the lockout ends."""

    code = "admin_locked_out"


class RateLimitedError(RetryLaterError):
    """The key used up its rate budget."""

    code = "rate_limited"


class SecurityHTTPException(HTTPException):
    """An HTTP refusal carrying a stable error code and a localized message."""

    def __init__(
        self,
        status_code: int,
        code: str,
        text: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            status_code=status_code,
            detail={"error": code, "message": text},
            headers=dict(headers) if headers else None,
        )
        self.code = code
        self.text = text


def to_http(error: SecurityError, accept_language: str | None = None) -> SecurityHTTPException:
    """Map a domain error to its HTTP status: 403 disabled, 401 unauthorized, 429 retry."""
    text = message(error.code, accept_language)
    if isinstance(error, AdminDisabledError):
        return SecurityHTTPException(403, error.code, text)
    if isinstance(error, AdminUnauthorizedError):
        return SecurityHTTPException(401, error.code, text, {"WWW-Authenticate": "Bearer"})
    if isinstance(error, RetryLaterError):
        return SecurityHTTPException(
            429, error.code, text, {"Retry-After": error.retry_after_header}
        )
    return SecurityHTTPException(403, error.code, text)


async def security_exception_handler(request: Request, exc: Exception) -> Response:
    """Render a `SecurityHTTPException` as `{"error": ..., "message": ...}`.

    Register with `app.add_exception_handler(SecurityHTTPException, security_exception_handler)`.
    """
    if not isinstance(exc, SecurityHTTPException):  # registered for the wrong type
        raise exc
    return JSONResponse(
        {"error": exc.code, "message": exc.text},
        status_code=exc.status_code,
        headers=exc.headers,
    )
