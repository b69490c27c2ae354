"""Parsers for conversation imports: IKAR's own export, SillyTavern JSONL, plain JSON lists.

Every parser validates the whole file into pydantic models before returning, so the caller
writes nothing unless everything parsed: a malformed file raises `ImportFormatError` (with a
machine-readable `code` the UI maps to an i18n message) and nothing is half-imported.

IKAR's format (also what `render_conversation_json` writes):
    {"format": "ikar.conversation", "version": 1,
     "conversation": {"id": "...", "title": "...", "persona_id": null, "created_at": "ISO"},
     "messages": [{"id": "...", "role": "user|assistant|system", "author": "...",
                   "content": "...", "created_at": "2024-03-05T10:00:00+00:00"}]}
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from config.validation import CleanInput, valid_timestamp

ImportFormat = Literal["ikar", "sillytavern", "plain"]
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


class ImportFormatError(ValueError):
    """The file cannot be imported; `code` is one of: too_large, bad_encoding, invalid_json,
    unknown_format, missing_field, bad_value, bad_time, invalid_text, too_deep, empty."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _shown_time(value: float) -> float:
    """A time every export can write (years 1..9999), else the `bad_time` refusal."""
    if not valid_timestamp(value):
        raise PydanticCustomError("bad_time", "impossible time {value}", {"value": value})
    return value


class ImportedMessage(CleanInput):
    """One message as read from a file: no NUL or lone surrogate (`CleanInput`), a time
    that exports can write back."""

    role: Literal["user", "assistant", "system"]
    author: str
    content: str
    created_at: float = Field(description="Unix seconds, from the file.")
    source_id: str | None = None

    _time = field_validator("created_at")(_shown_time)


class ImportedConversation(CleanInput):
    source_format: ImportFormat
    title: str
    user_name: str | None = None
    character_name: str | None = None
    persona_id: str | None = None
    created_at: float
    messages: list[ImportedMessage] = Field(min_length=1)
    warnings: list[str] = Field(default_factory=list)

    _time = field_validator("created_at")(_shown_time)


# ----- timestamps ------------------------------------------------------------------------

_ST_AT = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})\s*@\s*(\d{1,2})h\s*(\d{1,2})m(?:\s*(\d{1,2})s)?(?:\s*(\d{1,3})ms)?$"
)
_TEXT_FORMATS = (
    "%B %d, %Y %I:%M%p",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y at %I:%M %p",
    "%B %d, %Y at %I:%M%p",
    "%b %d, %Y %I:%M%p",
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d",
)


def parse_timestamp(value: Any) -> float | None:
    """Unix seconds from the many shapes chat apps write; None when unrecognisable.

    Naive times are taken as UTC (the file does not say which zone it meant). A time no
    export could write back (infinite, `2**80`, before year 1 or after 9999) is None too.
    """
    try:
        stamp = _timestamp(value)
    except (ValueError, OverflowError):  # month 13, year 0, a zone past year 1
        return None
    return stamp if stamp is not None and valid_timestamp(stamp) else None


def _time_refusal(where: str, raw: Any) -> ImportFormatError:
    """`bad_time` for a time that reads but no export could write (1e400, 2**80),
    `bad_value` for one that does not read at all."""
    try:
        readable = _timestamp(raw) is not None
    except (ValueError, OverflowError):
        readable = False
    shown = repr(raw)[:80] if isinstance(raw, str | int | float) else type(raw).__name__
    return ImportFormatError("bad_time" if readable else "bad_value", f"{where}: {shown}")


def _timestamp(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number / 1000.0 if number > 1e11 else number  # milliseconds vs seconds
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _timestamp(float(text))
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        pass
    m = _ST_AT.match(text)
    if m:
        y, mo, d, h, mi, s, ms = (int(g) if g else 0 for g in m.groups())
        return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=UTC).timestamp()
    normalised = re.sub(r"\s+", " ", text.replace("am", "AM").replace("pm", "PM"))
    for fmt in _TEXT_FORMATS:
        try:
            return datetime.strptime(normalised, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


# ----- entry point -----------------------------------------------------------------------


def _parse(
    data: bytes,
    fmt: ImportFormat | Literal["auto"] | None,
    max_bytes: int,
    filename: str | None,
) -> ImportedConversation:
    if len(data) > max_bytes:
        raise ImportFormatError("too_large", f"file is {len(data)} bytes; the limit is {max_bytes}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError("bad_encoding", f"file is not UTF-8 text: {exc}") from exc
    if not text.strip():
        raise ImportFormatError("empty", "file is empty")
    chosen = fmt if fmt not in (None, "auto") else detect_format(text, filename)
    parsers = {"ikar": _parse_ikar, "sillytavern": _parse_sillytavern, "plain": _parse_plain}
    try:
        return parsers[chosen](text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        code = first["type"] if first["type"] in ("invalid_text", "bad_time") else "bad_value"
        raise ImportFormatError(code, f"{chosen}: {where}: {first['msg']}") from None


def parse_conversation(
    data: bytes,
    fmt: ImportFormat | Literal["auto"] | None = "auto",
    max_bytes: int = DEFAULT_MAX_BYTES,
    filename: str | None = None,
) -> ImportedConversation:
    """Parse an uploaded file (format detected when `fmt` is auto/None).

    Any failure is an `ImportFormatError`: a file nested thousands of levels deep (which
    `json` answers with `RecursionError`) included."""
    try:
        return _parse(data, fmt, max_bytes, filename)
    except RecursionError:
        raise ImportFormatError("too_deep", "the file is nested too deeply") from None


def detect_format(text: str, filename: str | None = None) -> ImportFormat:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:  # not JSON, or a number past Python's 4300 digits
            doc = None
        if isinstance(doc, dict) and doc.get("format") == "ikar.conversation":
            return "ikar"
        first_line = stripped.split("\n", 1)[0]
        try:
            head = json.loads(first_line)
        except ValueError as exc:
            raise ImportFormatError("invalid_json", f"not JSON or JSONL: {exc}") from exc
        if isinstance(head, dict) and (
            "user_name" in head or "character_name" in head or "mes" in head
        ):
            return "sillytavern"
        raise ImportFormatError("unknown_format", "JSON object is neither IKAR nor SillyTavern")
    if stripped.startswith("["):
        return "plain"
    raise ImportFormatError(
        "unknown_format", "expected JSON (IKAR, plain list) or SillyTavern JSONL"
    )


# ----- IKAR ------------------------------------------------------------------------------


def _parse_ikar(text: str) -> ImportedConversation:
    doc = _load_json(text)
    if not isinstance(doc, dict) or doc.get("format") != "ikar.conversation":
        raise ImportFormatError(
            "unknown_format", 'not an IKAR export ("format" must be "ikar.conversation")'
        )
    if doc.get("version") != 1:
        raise ImportFormatError(
            "bad_value", f"unsupported IKAR export version {doc.get('version')!r}"
        )
    conv = doc.get("conversation") or {}
    raw = doc.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ImportFormatError("missing_field", 'IKAR export has no "messages"')
    messages = []
    for i, m in enumerate(raw):
        _require(m, ("role", "content", "created_at"), f"messages[{i}]")
        ts = parse_timestamp(m["created_at"])
        if ts is None:
            raise _time_refusal(f"messages[{i}].created_at", m["created_at"])
        messages.append(
            ImportedMessage(
                role=m["role"],
                author=str(m.get("author") or m["role"]),
                content=m["content"],
                created_at=ts,
                source_id=str(m["id"]) if m.get("id") is not None else None,
            )
        )
    return ImportedConversation(
        source_format="ikar",
        title=str(conv.get("title") or "Imported conversation"),
        persona_id=conv.get("persona_id"),
        created_at=parse_timestamp(conv.get("created_at")) or messages[0].created_at,
        messages=messages,
    )


# ----- SillyTavern -----------------------------------------------------------------------


def _parse_sillytavern(text: str) -> ImportedConversation:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ImportFormatError("invalid_json", f"line {n} is not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise ImportFormatError("bad_value", f"line {n} is not a JSON object")
        rows.append(row)
    meta: dict[str, Any] = {}
    if rows and "mes" not in rows[0]:
        meta = rows.pop(0)
    if not rows:
        raise ImportFormatError("empty", "SillyTavern chat has no messages")
    warnings: list[str] = []
    fallback = parse_timestamp(meta.get("create_date")) or 0.0
    messages: list[ImportedMessage] = []
    for n, row in enumerate(rows, start=2 if meta else 1):
        _require(row, ("mes", "is_user"), f"line {n}")
        ts = parse_timestamp(row.get("send_date"))
        if ts is None:
            ts = (messages[-1].created_at + 1.0) if messages else fallback
            warnings.append(f"line {n}: unreadable send_date {row.get('send_date')!r}; estimated")
        is_system = bool(row.get("is_system"))
        role = "user" if row["is_user"] else "system" if is_system else "assistant"
        messages.append(
            ImportedMessage(
                role=role,
                author=str(
                    row.get("name")
                    or (meta.get("user_name") if row["is_user"] else meta.get("character_name"))
                    or role
                ),
                content=str(row["mes"]),
                created_at=ts,
            )
        )
    character = meta.get("character_name")
    return ImportedConversation(
        source_format="sillytavern",
        title=f"{character} (SillyTavern)" if character else "SillyTavern chat",
        user_name=meta.get("user_name"),
        character_name=character,
        created_at=parse_timestamp(meta.get("create_date")) or messages[0].created_at,
        messages=messages,
        warnings=warnings,
    )


# ----- plain list ------------------------------------------------------------------------

_USER_SPEAKERS = {"user", "you", "me", "human", "я", "пользователь"}


def _parse_plain(text: str) -> ImportedConversation:
    doc = _load_json(text)
    if not isinstance(doc, list) or not doc:
        raise ImportFormatError("unknown_format", "plain format is a non-empty JSON list")
    speakers: list[str] = []
    for i, m in enumerate(doc):
        _require(m, ("speaker", "text", "timestamp"), f"[{i}]")
        speakers.append(str(m["speaker"]))
    # The first speaker that looks like the user is the user; otherwise the first speaker.
    user = next((s for s in speakers if s.strip().lower() in _USER_SPEAKERS), speakers[0])
    messages = []
    for i, m in enumerate(doc):
        ts = parse_timestamp(m["timestamp"])
        if ts is None:
            raise _time_refusal(f"[{i}].timestamp", m["timestamp"])
        messages.append(
            ImportedMessage(
                role="user" if str(m["speaker"]) == user else "assistant",
                author=str(m["speaker"]),
                content=str(m["text"]),
                created_at=ts,
            )
        )
    others = sorted({s for s in speakers if s != user})
    return ImportedConversation(
        source_format="plain",
        title=f"Chat with {', '.join(others)}" if others else "Imported chat",
        user_name=user,
        character_name=others[0] if others else None,
        created_at=messages[0].created_at,
        messages=messages,
    )


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            "invalid_json", f"invalid JSON at line {exc.lineno}: {exc.msg}"
        ) from exc
    except ValueError as exc:  # a number past Python's 4300 digits
        raise ImportFormatError("invalid_json", str(exc)[:200]) from None


def _require(obj: Any, fields: tuple[str, ...], where: str) -> None:
    if not isinstance(obj, dict):
        raise ImportFormatError("bad_value", f"{where} is not an object")
    missing = [f for f in fields if f not in obj or obj[f] is None]
    if missing:
        raise ImportFormatError("missing_field", f"{where} lacks {', '.join(missing)}")
