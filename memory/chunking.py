"""Split long messages into sentence-aligned chunks.

Why: an embedding of a 3,000-character message is a blur of its topics and e5/MiniLM
truncate at 512/256 tokens anyway; sentence-sized chunks keep each fact findable while
short messages stay whole (one chunk).
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n{2,}|\n(?=\s*[-*•\d])")


def split_sentences(text: str) -> list[str]:
    """Sentences (and paragraph breaks) in order, stripped, empty ones dropped."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Greedy packing of whole sentences into chunks of at most `max_chars`.

    A single sentence longer than `max_chars` is cut on whitespace (or hard-cut when it has
    none), so no chunk ever exceeds the limit.
    """
    text = text.strip()
    if len(text) <= max_chars:
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        for piece in _cut_long(sentence, max_chars):
            if not current:
                current = piece
            elif len(current) + 1 + len(piece) <= max_chars:
                current = f"{current} {piece}"
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    rest = sentence
    while len(rest) > max_chars:
        cut = rest.rfind(" ", 0, max_chars + 1)
        if cut <= 0:
            cut = max_chars
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces
