"""What any text or time a person or client sends must be before IKAR stores or speaks it.

Why one module, in `config/`: the REST edge (pydantic request models), the UI (the chat box
goes through `ChatService.validate_message`) and the import parsers in `memory/` must refuse
the same things with the same message, and `memory/`/`media/` may not import `app/`.

Refused text: a lone UTF-16 surrogate (`"\\ud800"`, valid in a JSON string, yet no UTF-8
encoder, SQLite or voice can take it), NUL and the other C0 control characters except tab
and line breaks (a NUL truncates C strings; an escape sequence rewrites a terminal). Text is
refused, never silently changed: what a person typed is theirs to fix.

Timestamps: a file may say `1e400` (infinity once parsed), `2**80` or `-1e20`; Python's
`datetime` holds years 1..9999 only, so such a time would import and then break every
export. Times outside that range are refused on the way in, and clamped on the way out for
rows written before the check (`display_timestamp`).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, model_validator
from pydantic_core import PydanticCustomError

from config.errors import IkarError

#: The pydantic error type a refused string raises (the REST edge maps it to `InvalidTextError`).
INVALID_TEXT = "invalid_text"
# C0 controls but tab, LF and CR; DEL; the surrogate range (only lone halves reach a str).
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A day inside datetime's range on both ends, so any time zone still converts.
TIMESTAMP_MIN = datetime(1, 1, 2, tzinfo=UTC).timestamp()
TIMESTAMP_MAX = datetime(9999, 12, 30, tzinfo=UTC).timestamp()


class InvalidTextError(IkarError):
    """Text with a character that cannot be stored or spoken (HTTP 400)."""

    code = INVALID_TEXT
    status_code = 400
    key = "error.invalid_text"

    def __init__(self, field: str, position: int, char: str) -> None:
        super().__init__(
            f"{field}: character U+{ord(char):04X} at position {position}",
            field=field,
            position=position,
            char=f"U+{ord(char):04X}",
        )


def text_problem(text: str) -> tuple[int, str] | None:
    """(position, character) of the first character IKAR refuses in `text`, else None."""
    found = _REFUSED.search(text)
    return (found.start(), found.group()) if found else None


def check_text(text: str, field: str = "text") -> str:
    """`text` unchanged, or `InvalidTextError` naming the first refused character."""
    problem = text_problem(text)
    if problem is not None:
        raise InvalidTextError(field, *problem)
    return text


def displayable(text: str) -> str:
    """`text` as a page can show it again: each lone surrogate becomes U+FFFD (gradio's
    JSON encoder, like any UTF-8 one, cannot send it back), the rest unchanged, so a
    refused message stays in the box for the person to fix."""
    return _SURROGATE.sub("\ufffd", text)


def first_bad_string(value: Any, path: str = "") -> tuple[str, int, str] | None:
    """(path, position, character) of the first refused string anywhere in a JSON-like
    value (dict keys included), else None. Depth-first, iterative: no recursion limit."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return (where or "body", *problem)
        elif isinstance(item, dict):
            for key, sub in reversed(list(item.items())):
                name = f"{where}.{key}" if where else str(key)
                key_problem = text_problem(key) if isinstance(key, str) else None
                if key_problem is not None:
                    return (name, *key_problem)
                stack.append((name, sub))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", sub) for i, sub in reversed(list(enumerate(item))))
    return None


class CleanInput(BaseModel):
    """Base of request and import models: every string inside (nested ones too) is checked
    by `check_text`'s rule before the fields are validated."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_bad_text(cls, data: Any) -> Any:
        bad = first_bad_string(data)
        if bad is not None:
            field, position, char = bad
            raise PydanticCustomError(
                INVALID_TEXT,
                "{field}: character {char} at position {position} cannot be stored",
                {"field": field, "position": position, "char": f"U+{ord(char):04X}"},
            )
        return data


def invalid_text_from(errors: list[Any]) -> InvalidTextError | None:
    """The `InvalidTextError` behind a pydantic error list, when one of them is ours."""
    for error in errors:
        if error.get("type") == INVALID_TEXT:
            ctx = error.get("ctx") or {}
            char = str(ctx.get("char", "U+0000"))
            return InvalidTextError(
                str(ctx.get("field", "text")), int(ctx.get("position", 0)), chr(int(char[2:], 16))
            )
    return None


def valid_timestamp(value: float) -> bool:
    """Whether `value` (Unix seconds) is a time `datetime` can show."""
    return math.isfinite(value) and TIMESTAMP_MIN <= value <= TIMESTAMP_MAX


def display_timestamp(value: float) -> float:
    """`value` clamped into the range `datetime` can show (NaN: the epoch)."""
    if math.isnan(value):
        return 0.0
    return min(max(value, TIMESTAMP_MIN), TIMESTAMP_MAX)


#: A time read back from the database: shown clamped (`display_timestamp`), so a row stored
#: before imports checked times still lists and serialises (JSON has no infinity).
StoredTime = Annotated[float, AfterValidator(display_timestamp)]
