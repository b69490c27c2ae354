"""Security refusals: `IkarError`s with codes, statuses and "security.*" message keys.

They are framework-agnostic so Gradio tabs and services can raise and catch them; the one
REST handler (app/api/errors.py) answers them like every other error. FastAPI dependencies
that must work in any app raise their HTTP form (`app.errors.ErrorHTTPException`): it gets
the right status even where no handler is registered.
"""

from __future__ import annotations

from app.errors import client_lang, prefers_russian
from app.i18n import t
from config.errors import IkarError

__all__ = [
    "AdminDisabledError",
    "AdminLockedOutError",
    "AdminUnauthorizedError",
    "RateLimitedError",
    "RetryLaterError",
    "SecurityError",
    "UnauthorizedError",
    "UserMismatchError",
    "message",
    "prefers_russian",
]


def message(code: str, accept_language: str | None = None) -> str:
    """The message for `code` (app/locales/security.py) in Russian if the client prefers it."""
    return t(f"security.{code}", client_lang(accept_language))


class SecurityError(IkarError):
    """Base for security decisions that refuse a request."""

    code = "forbidden"
    status_code = 403
    key = "security.forbidden"


class AdminDisabledError(SecurityError):
    """No admin token is configured, so the admin surface is closed (never open)."""

    code = "admin_disabled"
    key = "security.admin_disabled"


class AdminUnauthorizedError(SecurityError):
    """The admin token is missing or wrong."""

    code = "admin_unauthorized"
    status_code = 401
    key = "security.admin_unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class UnauthorizedError(SecurityError):
    """With accounts configured, a request without a valid API token."""

    code = "unauthorized"
    status_code = 401
    key = "security.unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class UserMismatchError(SecurityError):
    """A request claims a user id other than the one its API token belongs to."""

    code = "user_mismatch"
    key = "security.user_mismatch"


class RetryLaterError(SecurityError):
    """A refusal that ends after `retry_after` seconds."""

    status_code = 429

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {retry_after:.1f}s")
        self.retry_after = max(0.0, retry_after)

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, never 0 (Retry-After takes an integer)."""
        return str(max(1, int(-(-self.retry_after // 1))))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": self.retry_after_header}


class AdminLockedOutError(RetryLaterError):
    """Too many wrong admin tokens from one client; refused until the lockout ends."""

    code = "admin_locked_out"
    key = "security.admin_locked_out"


class RateLimitedError(RetryLaterError):
    """The key used up its rate budget."""

    code = "rate_limited"
    key = "security.rate_limited"
