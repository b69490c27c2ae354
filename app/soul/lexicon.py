"""Tokenising and stem matching shared by the sentiment scorer and the trigger detector.

Why stems: Russian inflects heavily (люблю, любит, любимый), and a prefix lookup on a stem
catches the forms without a morphological analyser. An entry ending in `$` matches only the
whole word, for short stems that would catch unrelated words (`боль$` must not hit `больше`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

_WORD_RE = re.compile(r"[a-zа-я0-9]+(?:'[a-z]+)?")
_MIN_STEM = 2


def tokenize(text: str) -> list[str]:
    """Lower-case words (Latin and Cyrillic; `ё` folded to `е`; English `n't` kept attached)."""
    folded = text.casefold().replace("ё", "е").replace("’", "'")
    return _WORD_RE.findall(folded)


class StemLexicon:
    """Maps words to values by the longest matching stem (or an exact `word$` entry)."""

    def __init__(self, entries: Mapping[str, float] | Iterable[str]) -> None:
        items = entries.items() if isinstance(entries, Mapping) else ((e, 1.0) for e in entries)
        exact: dict[str, float] = {}
        stems: dict[str, float] = {}
        for raw, value in items:
            word = raw.casefold().replace("ё", "е").strip()
            if not word:
                continue
            if word.endswith("$"):
                exact[word[:-1]] = value
            else:
                stems[word] = value
        self._exact = MappingProxyType(exact)
        self._stems = MappingProxyType(stems)
        self._max_stem = max((len(s) for s in stems), default=0)

    def lookup(self, token: str) -> float | None:
        """The value for a token, or None when no entry matches."""
        value = self._exact.get(token)
        if value is not None:
            return value
        for length in range(min(len(token), self._max_stem), _MIN_STEM - 1, -1):
            value = self._stems.get(token[:length])
            if value is not None:
                return value
        return None

    def matched_entry(self, token: str) -> str | None:
        """The entry (stem or exact word) that matches a token, for reporting what triggered."""
        if token in self._exact:
            return token
        for length in range(min(len(token), self._max_stem), _MIN_STEM - 1, -1):
            if token[:length] in self._stems:
                return token[:length]
        return None


NEGATIONS = frozenset(
    {
        "не", "нет", "ни", "никогда", "нисколько", "вовсе", "без", "ничуть",
        "not", "no", "never", "nothing", "nobody", "hardly", "without", "neither", "nor",
        "cannot",
    }
)  # fmt: skip


def is_negation(token: str) -> bool:
    """Negation words, including English contractions (`don't`, `won't`, `isn't`)."""
    return token in NEGATIONS or token.endswith("n't")
