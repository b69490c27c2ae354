"""Errors services raise for bad input, and the one table that says how every failure is
reported: machine code, HTTP status, i18n message key."""

from __future__ import annotations

from typing import Any, NamedTuple

from models.errors import (
    LLMError,
    LLMTimeoutError,
    ModelUnavailableError,
    PromptTooLongError,
)


class ServiceError(Exception):
    """A clear, user-facing failure. `key` is an i18n message key, `params` fill it."""

    status_code = 400

    def __init__(self, key: str, status_code: int | None = None, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        if status_code is not None:
            self.status_code = status_code


class NotFound(ServiceError):
    status_code = 404


class FailureReport(NamedTuple):
    code: str  # stable machine code, e.g. "timeout"
    status: int  # HTTP status
    key: str  # i18n message key (app/locales), filled with `detail`


_LLM_FAILURES: tuple[tuple[type[LLMError], FailureReport], ...] = (
    (LLMTimeoutError, FailureReport("timeout", 504, "error.llm_timeout")),
    (ModelUnavailableError, FailureReport("model_unavailable", 503, "error.model_unavailable")),
    (PromptTooLongError, FailureReport("prompt_too_long", 413, "error.prompt_too_long")),
)


def describe_failure(exc: Exception) -> FailureReport:
    """How a failed turn is reported, the same way in the API, the UI and the metrics."""
    if isinstance(exc, ServiceError):
        return FailureReport(exc.key.removeprefix("error."), exc.status_code, exc.key)
    for cls, report in _LLM_FAILURES:
        if isinstance(exc, cls):
            return report
    return FailureReport("llm_error", 502, "error.llm_failed")
