r"""Media markers: how the chat model asks for speech or an image inside its reply.

Format (one marker per request, appended after the visible reply text)::

    SPEAK!{"text": "Hello there!"}
    IMAGE!{"prompt": "a lighthouse at dusk", "negative_prompt": "blurry",
           "width": 512, "height": 512, "steps": 20, "guidance": 7.0, "seed": 42}

- The keyword is upper-case ``SPEAK`` or ``IMAGE``, then ``!``, optional spaces, then ONE JSON
  object (it may span lines). ``SPEAK`` needs ``text`` (and may name a ``voice``); ``IMAGE``
  needs ``prompt``; the other ``IMAGE`` fields are optional and validated by the service.
- Anything that looks like a marker is removed from the text shown to the user, valid or not:
  a marker with broken JSON is dropped; one whose JSON never closes (a cut-off reply) is
  dropped with everything after it; a bare keyword (``SPEAK!`` without JSON) is removed.
- Parsing never raises: small models write broken JSON, code fences and unicode noise.

`parse_markers(reply)` returns ``(clean_text, [SpeakRequest | ImageRequest, ...])``;
`hide_partial_marker(text)` is for streaming, where a marker may be half-written;
`marker_instructions(lang)` is the text the prompt builder gives the model.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

_MAX_TEXT = 4000
_MAX_PROMPT = 2000


class SpeakRequest(BaseModel):
    """The model asked for its words to be spoken."""

    kind: Literal["speak"] = "speak"
    text: str = Field(min_length=1, max_length=_MAX_TEXT)
    voice: str | None = Field(default=None, max_length=200)


class ImageRequest(BaseModel):
    """The model asked for an image; limits are re-checked against the config later."""

    kind: Literal["image"] = "image"
    prompt: str = Field(min_length=1, max_length=_MAX_PROMPT)
    negative_prompt: str | None = Field(default=None, max_length=_MAX_PROMPT)
    width: int | None = Field(default=None, ge=64, le=4096)
    height: int | None = Field(default=None, ge=64, le=4096)
    steps: int | None = Field(default=None, ge=1, le=200)
    guidance: float | None = Field(default=None, ge=0, le=50)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


MediaRequest = Annotated[SpeakRequest | ImageRequest, Field(discriminator="kind")]
_REQUEST = TypeAdapter(MediaRequest)

# "SPEAK" / "IMAGE" followed by "!" with optional (unicode) spaces or zero-width characters.
_KEYWORD = re.compile(r"(SPEAK|IMAGE)[\s\u200b-\u200d\u2060\ufeff]*!")
_NOISE = "\u200b\u200c\u200d\u2060\ufeff"
_KEYWORDS = ("SPEAK!", "IMAGE!")


def parse_markers(reply: str) -> tuple[str, list[SpeakRequest | ImageRequest]]:
    """Split a model reply into the text to show and the media requests it contains."""
    if not isinstance(reply, str):
        return "", []
    requests: list[SpeakRequest | ImageRequest] = []
    text = reply
    # Removing one marker can join its neighbours into a new keyword ("SPESPEAK!{}AK!");
    # repeat until nothing marker-like is left. Each pass removes characters, so it ends.
    while True:
        text, found, changed = _strip_once(text)
        requests.extend(found)
        if not changed:
            break
    return _tidy(text), requests


def _strip_once(text: str) -> tuple[str, list[SpeakRequest | ImageRequest], bool]:
    out: list[str] = []
    found: list[SpeakRequest | ImageRequest] = []
    pos = 0
    changed = False
    for match in _KEYWORD.finditer(text):
        if match.start() < pos:  # inside a marker we already consumed
            continue
        changed = True
        out.append(text[pos : match.start()])
        keyword = match.group(1)
        start = _skip_spaces(text, match.end())
        if start >= len(text) or text[start] != "{":
            pos = match.end()  # a bare keyword: drop just the keyword
            continue
        end = _json_object_end(text, start)
        if end is None:  # never closed: a cut-off marker hides the rest of the reply
            pos = len(text)
            break
        request = _to_request(keyword, text[start:end])
        if request is not None:
            found.append(request)
        pos = end
    out.append(text[pos:])
    return "".join(out), found, changed


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and (text[i].isspace() or text[i] in _NOISE):
        i += 1
    return i


def _json_object_end(text: str, start: int) -> int | None:
    """Index just past the `}` closing the object opened at `start` (string-aware)."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _to_request(keyword: str, raw: str) -> SpeakRequest | ImageRequest | None:
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    data = {str(k): v for k, v in data.items() if k != "kind"}
    data["kind"] = "speak" if keyword == "SPEAK" else "image"
    if isinstance(data.get("text"), str):
        data["text"] = data["text"].strip()
    if isinstance(data.get("prompt"), str):
        data["prompt"] = data["prompt"].strip()
    try:
        return _REQUEST.validate_python(data)
    except ValidationError:
        return None


_FENCE = re.compile(r"```[a-zA-Z]*\s*```")


def _tidy(text: str) -> str:
    # An empty code fence remains when the model wrapped its marker in ```json ... ```.
    text = _FENCE.sub("", text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def hide_partial_marker(text: str) -> str:
    """Text safe to show while a reply is still streaming.

    Complete markers are removed as in `parse_markers`, an unfinished one (or a trailing
    ``SPE`` that may become one) is hidden until more tokens arrive.
    """
    clean, _ = parse_markers(text)
    for keyword in _KEYWORDS:
        for n in range(len(keyword) - 1, 0, -1):
            if clean.endswith(keyword[:n]):
                return clean[:-n].rstrip()
    return clean


_INSTRUCTIONS = {
    "en": (
        "You can speak aloud and draw pictures. To say something aloud, end your reply "
        'with SPEAK!{"text": "the words to say"}. To draw a picture, end your reply with '
        'IMAGE!{"prompt": "a short English description of the picture"}. Use valid JSON with '
        "double quotes, one marker per line, only when the user asks for voice or a picture "
        "or it clearly helps. Never explain the markers; the user does not see them."
    ),
    "ru": (
        "Ты умеешь говорить вслух и рисовать картинки. Чтобы сказать что-то вслух, закончи "
        'ответ так: SPEAK!{"text": "слова, которые нужно произнести"}. Чтобы нарисовать '
        'картинку, закончи ответ так: IMAGE!{"prompt": "короткое описание картинки на '
        'английском"}. Пиши корректный JSON с двойными кавычками, по одному маркеру на '
        "строке, и только когда пользователь просит голос или картинку или это явно уместно. "
        "Никогда не объясняй маркеры: пользователь их не видит."
    ),
}


def marker_instructions(lang: str = "en") -> str:
    """The system-prompt paragraph that teaches the model the markers (ru or en)."""
    return _INSTRUCTIONS.get(lang, _INSTRUCTIONS["en"])
