"""Structured JSON logs with secret redaction, and an in-memory tail for the admin tab.

One JSON object per line (`timestamp`, `level`, `logger`, `message`, `request_id`, then any
`extra=` fields), so logs can be grepped, shipped and parsed without regexes.

Redaction happens before anything is written: configured secret values, `token=`-style query
parameters, Authorization/Bearer credentials, and values under keys such as password, token,
secret, api_key - in messages, extras and tracebacks.

Prompts and replies are private conversation: never log them at INFO. Log their sizes
(`prompt_chars=...`) at INFO if useful, and the text only through `log_prompt`, which logs at
DEBUG and truncated.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, SecretStr

from app.observability.context import current_request_id

MASK = "***"
_MAX_DEPTH = 6

# Names of LogRecord's own attributes; everything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "request_id", "taskName"}
)

# Keys whose values are credentials. "token" must be a whole word so that token *counts*
# (max_tokens, completion_tokens, tokens_per_second) stay visible.
_SENSITIVE_KEY = re.compile(
    r"^(?:.*_)?(?:password|passwd|pwd|secret|token|api_?key|authorization|cookie|"
    r"set_cookie|credentials?|private_key|session(?:_?id)?)(?:_.*)?$",
    re.IGNORECASE,
)
_SENSITIVE_WORD = (
    r"(?:[a-z0-9_-]*(?:password|passwd|pwd|secret|token|api_?key)|authorization|x-admin-token|"
    r"cookie|set-cookie)"
)
_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer abc / Basic abc
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 " + MASK),
    # "password": "x", 'token': 'x', api_key='x'  (quoted values in reprs and JSON)
    (
        re.compile(
            r"(['\"]?\b" + _SENSITIVE_WORD + r"['\"]?\s*[:=]\s*)(['\"])(?:(?!\2).)*\2",
            re.IGNORECASE,
        ),
        r"\1\2" + MASK + r"\2",
    ),
    # ?token=x&api_key=y, password=x, Authorization: x (unquoted values)
    (
        re.compile(
            r"(\b" + _SENSITIVE_WORD + r"\s*[:=]\s*)(?!['\"\s])(?!\*\*\*)[^&\s'\",;)}\]]+",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
)


# One query parameter, as it appears in a request line: `?key=value`, `&key=value`, `;key=`.
_QUERY_PARAM = re.compile(r"(?P<head>[?&;](?P<key>[^=&;\s#'\"]+)=)(?P<value>[^&;\s#'\"]*)")
_MAX_DECODES = 4  # %2574 -> %74 -> t: a few layers, never unbounded


def fully_unquoted(text: str) -> str:
    """`text` with percent-encoding undone, layer by layer (`%2574` is `t` to some server)."""
    for _ in range(_MAX_DECODES):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def is_sensitive_key(key: str) -> bool:
    """Whether values under this key are credentials (password, api_key, x-admin-token...)."""
    return bool(_SENSITIVE_KEY.match(key.replace("-", "_")))


class Redactor:
    """Masks secrets in text and in nested data.

    `secrets` are literal values (admin token, API keys from config) masked wherever they
    appear; values shorter than 4 characters are ignored because masking them would shred
    ordinary text.
    """

    def __init__(self, secrets: Iterable[str | SecretStr] = ()) -> None:
        values = {s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets}
        self._secrets = sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True)

    def redact_text(self, text: str) -> str:
        """`text` with secret values and credential patterns masked.

        Masking happens after decoding: `?%74oken=x` is `?token=x` to the server, so the
        parameter name is compared decoded, and a secret value that appears only
        percent-encoded makes the text be logged decoded (and masked).
        """
        if "%" in text:
            decoded = fully_unquoted(text)
            if any(decoded.count(secret) > text.count(secret) for secret in self._secrets):
                text = decoded
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if "=" in text:
            text = _QUERY_PARAM.sub(_mask_query_value, text)
        for pattern, replacement in _TEXT_RULES:
            text = pattern.sub(replacement, text)
        return text

    def redact_value(self, value: Any, depth: int = 0) -> Any:
        """A JSON-safe copy of `value` with credentials masked (by key and by content)."""
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, bytes | bytearray):
            return self.redact_text(bytes(value).decode("latin-1"))
        if isinstance(value, SecretStr):
            return MASK
        if depth >= _MAX_DEPTH:
            return "..."
        if isinstance(value, Mapping):
            return {
                str(self.redact_value(k, depth + 1)): (
                    MASK if is_sensitive_key(_key_text(k)) else self.redact_value(v, depth + 1)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            # ASGI-style header pairs: (b"authorization", b"Bearer ...")
            if (
                len(items) == 2
                and isinstance(items[0], str | bytes)
                and is_sensitive_key(_key_text(items[0]))
            ):
                return [self.redact_value(items[0], depth + 1), MASK]
            return [self.redact_value(v, depth + 1) for v in items]
        return self.redact_text(str(value))


def _mask_query_value(match: re.Match[str]) -> str:
    if match.group("value") and is_sensitive_key(fully_unquoted(match.group("key"))):
        return match.group("head") + MASK
    return match.group(0)


def _key_text(key: Any) -> str:
    return key.decode("latin-1") if isinstance(key, bytes) else str(key)


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record (private `_`-prefixed attributes excluded)."""
    return {
        k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS and not k.startswith("_")
    }


def record_to_dict(record: logging.LogRecord, redactor: Redactor | None) -> dict[str, Any]:
    """The JSON object for one record, redacted when a redactor is given."""
    try:
        text = record.getMessage()
    except Exception:  # a bad %-format must not lose the log line
        text = f"{record.msg!r} {record.args!r}"
    request_id = getattr(record, "request_id", None) or current_request_id()
    data: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        ),
        "level": record.levelname,
        "logger": record.name,
        "message": text,
        "request_id": request_id,
    }
    for key, value in record_extras(record).items():
        data.setdefault(key, value)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        data["exc_info"] = record.exc_text
    if record.stack_info:
        data["stack_info"] = record.stack_info
    if redactor is not None:
        data = redactor.redact_value(data)
    return data


class JsonFormatter(logging.Formatter):
    """Formats each record as one line of JSON (newlines inside values are escaped)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        data = record_to_dict(record, self._redactor)
        return json.dumps(data, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Stamps `record.request_id` in the emitting thread (formatting may happen later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class RedactingFilter(logging.Filter):
    """Redacts a record in place, so every handler after it (text or JSON) sees it masked."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ikar_redacted", False):
            return True
        try:
            text = record.getMessage()
        except Exception:
            text = f"{record.msg!r} {record.args!r}"
        record.msg = self._redactor.redact_text(text)
        record.args = None
        for key, value in record_extras(record).items():
            setattr(
                record, key, MASK if is_sensitive_key(key) else self._redactor.redact_value(value)
            )
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact_text(record.exc_text)
        record._ikar_redacted = True
        return True


class LogEntry(BaseModel):
    """One log line as the admin tab shows it."""

    model_config = ConfigDict(frozen=True)

    timestamp: str
    level: str
    levelno: int
    logger: str
    message: str
    request_id: str | None = None
    extra: dict[str, Any] = {}


class LogBuffer(logging.Handler):
    """The last `capacity` log records, redacted, for the admin tab's "log tail" view."""

    def __init__(
        self, capacity: int = 2000, redactor: Redactor | None = None, level: int = logging.DEBUG
    ) -> None:
        super().__init__(level)
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self._redactor = redactor or Redactor()
        self._entries_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = record_to_dict(record, self._redactor)
            base = {"timestamp", "level", "logger", "message", "request_id"}
            entry = LogEntry.model_construct(
                timestamp=data["timestamp"],
                level=data["level"],
                levelno=record.levelno,
                logger=data["logger"],
                message=data["message"],
                request_id=data["request_id"],
                extra={k: v for k, v in data.items() if k not in base},
            )
            with self._entries_lock:
                self._entries.append(entry)
        except Exception:
            self.handleError(record)

    def tail(
        self,
        limit: int = 200,
        level: str | int | None = None,
        logger: str | None = None,
        text: str | None = None,
        request_id: str | None = None,
    ) -> list[LogEntry]:
        """The newest `limit` entries (oldest first) that pass every given filter.

        level: minimum level ("WARNING" or 30); logger: that logger and its children;
        text: case-insensitive substring of the message; request_id: exact match.
        """
        min_level = _level_number(level) if level is not None else 0
        needle = text.casefold() if text else None
        with self._entries_lock:
            entries = list(self._entries)
        selected: list[LogEntry] = []
        for entry in reversed(entries):
            if entry.levelno < min_level:
                continue
            if logger and entry.logger != logger and not entry.logger.startswith(logger + "."):
                continue
            if request_id and entry.request_id != request_id:
                continue
            if needle and needle not in entry.message.casefold():
                continue
            selected.append(entry)
            if len(selected) >= limit:
                break
        selected.reverse()
        return selected

    def loggers(self) -> list[str]:
        """Logger names present in the buffer (for a filter dropdown)."""
        with self._entries_lock:
            return sorted({e.logger for e in self._entries})

    def clear(self) -> None:
        with self._entries_lock:
            self._entries.clear()


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    return number


def configure_logging(
    level: str | int = "INFO",
    secrets: Iterable[str | SecretStr] = (),
    *,
    stream: TextIO | None = None,
    buffer: LogBuffer | None = None,
) -> Redactor:
    """Route all logging (uvicorn's too) through one JSON handler, redacted; idempotent.

    Call once from the composition root before serving. Run uvicorn with `log_config=None`,
    or its own dictConfig replaces these handlers on the uvicorn loggers. Returns the
    Redactor, for anything else that writes user-visible diagnostics.
    """
    redactor = Redactor(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ikar_installed", False):
            root.removeHandler(handler)

    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if buffer is not None:
        buffer._redactor = redactor
        handlers.append(buffer)
    for handler in handlers:
        handler.setFormatter(JsonFormatter(redactor))
        handler.filters = [RequestIdFilter(), RedactingFilter(redactor)]
        handler._ikar_installed = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(_level_number(level))

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)  # the root's level decides (uvicorn sets its own)
    return redactor


def log_prompt(
    logger: logging.Logger, prompt: str, *, label: str = "prompt", max_chars: int = 200
) -> None:
    """Log a prompt's beginning at DEBUG only (private text never reaches INFO logs)."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    shown = prompt if len(prompt) <= max_chars else prompt[:max_chars] + "…"
    logger.debug(
        "%s (%d chars): %s", label, len(prompt), shown, extra={"prompt_chars": len(prompt)}
    )
