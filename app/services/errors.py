"""Errors services raise for bad input; the API maps `code` to a status and `key` to i18n."""

from __future__ import annotations

from typing import Any


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
