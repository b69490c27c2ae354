"""Errors the services raise for bad input or a refused action (keys of the one catalogue).

Every deliberate failure in IKAR is an `IkarError` (config/errors.py): a code, an HTTP status
and a message key. A `ServiceError` names its key at the raise site; its code is the key's
last part ("error.empty_message" -> "empty_message").
"""

from __future__ import annotations

from typing import Any

from config.errors import IkarError


class ServiceError(IkarError):
    """A clear, user-facing failure. `key` is an i18n message key, `params` fill it."""

    status_code = 400

    def __init__(self, key: str, status_code: int | None = None, **params: Any) -> None:
        super().__init__(params.pop("detail", ""), **params)
        self.key = key
        self.code = key.rsplit(".", 1)[-1]
        if status_code is not None:
            self.status_code = status_code
        self.args = (key,)


class NotFound(ServiceError):
    status_code = 404
