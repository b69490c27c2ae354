"""Text as a voice wants it: control characters out, cut into sentence-sized pieces.

Why here and not in each engine: every engine must see the same clean text (a NUL byte
truncates a C string inside festival; an escape sequence or a lone surrogate cannot even be
written to its input file), and the pieces decide when the first audio can play: a reply is
spoken sentence by sentence, and a run-on sentence is cut at a comma or a space so no single
synthesis call keeps the listener waiting.
"""

from __future__ import annotations

import re
import unicodedata

from media.errors import MediaInputError

# Dropped outright: controls (NUL, ESC, C1...), format characters (zero-width, bidi
# overrides), lone surrogates, private-use code points. Tabs and line breaks become spaces
# or sentence boundaries instead.
_DROP = frozenset({"Cc", "Cf", "Cs", "Co"})
_KEEP = frozenset({"\n", "\t", "\r"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_LINES = re.compile(r"\s*\n\s*")
# A sentence ends after . ! ? … (and closing quotes/brackets) when the next word starts
# with a capital letter, a digit, a quote or a dash: "т. е. он" and "e.g. this" stay whole.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+(?=[\"'«“(\[—–-]?[A-ZА-ЯЁ0-9])")
_SOFT_BREAK = re.compile(r"[,;:—–]\s+|\s+[—–-]\s+")


def clean_speech_text(text: str) -> str:
    """`text` without characters no voice can say; spaces collapsed, line breaks kept."""
    kept = "".join(
        char for char in text or "" if char in _KEEP or unicodedata.category(char) not in _DROP
    )
    lines = [_SPACES.sub(" ", line).strip() for line in _LINES.split(kept)]
    return "\n".join(line for line in lines if line)


def checked_speech_text(text: str, max_chars: int) -> str:
    """Clean text, refused with a clear message when empty or over `max_chars`."""
    clean = clean_speech_text(text)
    if not clean:
        raise MediaInputError("there is no text to speak", key="media.no_text")
    if len(clean) > max_chars:
        raise MediaInputError(
            f"the text is {len(clean)} characters long; the limit is {max_chars}",
            key="media.text_too_long",
            length=len(clean),
            limit=max_chars,
        )
    return clean


def split_sentences(text: str, max_chars: int) -> list[str]:
    """Sentences of `text` in order, none longer than `max_chars`, none without a word."""
    pieces: list[str] = []
    for line in clean_speech_text(text).split("\n"):
        for sentence in _BOUNDARY.split(line):
            pieces.extend(_cut(sentence.strip(), max_chars))
    return [p for p in pieces if any(c.isalnum() for c in p)]


def _cut(sentence: str, max_chars: int) -> list[str]:
    """Cut a long sentence at the last comma-like break, else the last space, else hard."""
    out: list[str] = []
    rest = sentence
    while len(rest) > max_chars:
        window = rest[: max_chars + 1]
        breaks = [m.end() for m in _SOFT_BREAK.finditer(window) if m.end() > max_chars // 3]
        if breaks:
            at = breaks[-1]
        else:
            space = window.rfind(" ")
            at = space + 1 if space > max_chars // 3 else max_chars
        out.append(rest[:at].strip())
        rest = rest[at:].strip()
    if rest:
        out.append(rest)
    return out
