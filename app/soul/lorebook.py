"""Selecting lorebook (`character_book`) entries for the prompt.

An entry is active when one of its keys occurs in the scanned text (the newest messages,
case-insensitive unless the entry says otherwise; Russian and English alike) or when it is
`constant`. Active entries are kept by priority within a token budget and returned in
`insertion_order`. Why substring matching: a key "дворецк" should match "дворецкий" and
"дворецкого". Keys marked `use_regex` are matched literally too: a regex from a downloaded
card could hang the process (catastrophic backtracking), and Python's `re` has no timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from app.soul.card import CharacterBook, LoreEntry

DEFAULT_SCAN_DEPTH = 4


class SelectedLore(BaseModel):
    """An active entry, with the tokens it costs."""

    content: str
    name: str
    insertion_order: int
    priority: int
    tokens: int


def select_lore(
    book: CharacterBook | None,
    recent_texts: Sequence[str],
    count_tokens: Callable[[str], int],
    token_budget: int,
) -> list[SelectedLore]:
    """Active entries that fit `token_budget` (and the book's own budget), in insertion order.

    `recent_texts` are the newest messages, oldest first; the book's `scan_depth` (default 4)
    says how many of the newest are scanned.
    """
    if book is None or not book.entries or token_budget <= 0:
        return []
    depth = book.scan_depth if book.scan_depth is not None else DEFAULT_SCAN_DEPTH
    scanned = list(recent_texts[-depth:]) if depth > 0 else []
    haystack = "\n".join(scanned)
    folded = _fold(haystack)
    active: list[tuple[int, LoreEntry]] = []
    for index, entry in enumerate(book.entries):
        if entry.enabled and (entry.constant or _matches(entry, haystack, folded)):
            active.append((index, entry))
    budget = min(token_budget, book.token_budget) if book.token_budget else token_budget
    # Highest priority first, then the earlier insertion order, then file order.
    ranked = sorted(
        active, key=lambda pair: (-(pair[1].priority or 0), pair[1].insertion_order, pair[0])
    )
    chosen: list[tuple[int, SelectedLore]] = []
    used = 0
    for index, entry in ranked:
        content = entry.content.strip()
        if not content:
            continue
        cost = count_tokens(content)
        if used + cost > budget:
            continue
        used += cost
        chosen.append(
            (
                index,
                SelectedLore(
                    content=content,
                    name=entry.name or entry.comment or (entry.keys[0] if entry.keys else ""),
                    insertion_order=entry.insertion_order,
                    priority=entry.priority or 0,
                    tokens=cost,
                ),
            )
        )
    chosen.sort(key=lambda pair: (pair[1].insertion_order, pair[0]))
    return [lore for _, lore in chosen]


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


def _matches(entry: LoreEntry, haystack: str, folded: str) -> bool:
    if not _any_key(entry.keys, entry.case_sensitive, haystack, folded):
        return False
    if entry.selective and entry.secondary_keys:
        return _any_key(entry.secondary_keys, entry.case_sensitive, haystack, folded)
    return True


def _any_key(keys: Sequence[str], case_sensitive: bool | None, raw: str, folded: str) -> bool:
    for key in keys:
        key = key.strip()
        if not key:
            continue
        if case_sensitive:
            if key in raw:
                return True
        elif _fold(key) in folded:
            return True
    return False
