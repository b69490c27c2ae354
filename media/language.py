"""Which language a text is in, and language codes as the engines want them.

Why script counting and not a language-identification model: the app speaks Russian and
English, and these two never share an alphabet, so counting Cyrillic against Latin letters is
exact for whole sentences, instant, and needs no model. Anything else (digits only, emoji,
another script) is "unknown" and the caller's hint or default decides.
"""

from __future__ import annotations

import re
import unicodedata

# A share of letters in one script above this makes the text that language: a Russian reply
# with a few English brand names stays Russian, an English one quoting «да» stays English.
_MAJORITY = 0.6
_CODE = re.compile(r"^[a-z]{2,3}$")


def normalize_language(code: str | None) -> str | None:
    """'ru', 'ru-RU', 'ru_RU', ' RU ' -> 'ru'; None, '', 'auto' -> None (detect).

    Anything that is not a plain ISO 639 code comes back as None, never as a half-parsed
    string that an engine would choke on.
    """
    if code is None:
        return None
    short = code.strip().lower().replace("_", "-").split("-", 1)[0]
    if not short or short == "auto" or not _CODE.match(short):
        return None
    return short


def detect_language(text: str) -> str | None:
    """'ru' or 'en' when most letters of `text` are Cyrillic or Latin, else None."""
    cyrillic = latin = 0
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        if name.startswith("CYRILLIC"):
            cyrillic += 1
        elif name.startswith("LATIN"):
            latin += 1
    total = cyrillic + latin
    if total == 0:
        return None
    if cyrillic / total >= _MAJORITY:
        return "ru"
    if latin / total >= _MAJORITY:
        return "en"
    return None
