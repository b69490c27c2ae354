"""Turn arbitrary user text into a safe FTS5 MATCH expression.

FTS5 has its own query language (quotes, AND/OR/NOT/NEAR, `col:`, `^`, `*`, parentheses);
passing user text through raw makes "what's up?" a syntax error and lets a query reach other
columns. We keep only word tokens (unicode `\\w`), quote each one, and join them with OR so
BM25 ranks by how many and how rare the matched words are. Russian has no stemmer in SQLite,
so long Cyrillic words also match by a prefix (`"собак"*` finds собака/собаку/собаке).
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

# Words so common they only add noise to an OR query (kept small on purpose).
_STOPWORDS = frozenset(
    """
    a an and are as at be but by did do does for from had has have he her his how i if
    in is it its me my of on or our she so that the their them they this to was we were
    what when where which who why will with you your
    а без в во вы да для до его ее её же за и из или их к как ко кто ли мне мы на не нет
    ни но о об он она они от по при с со так то ты у уже что чем это я мой моя мои твой
    """.split()  # noqa: SIM905 - a word list reads better as text
)

MAX_TERMS = 32


def query_terms(query: str) -> list[str]:
    """The query's searchable words (lower case, stopwords dropped, de-duplicated)."""
    terms: list[str] = []
    for match in _WORD.finditer(query.lower()):
        word = match.group(0).replace("_", "")
        if len(word) >= 2 and word not in _STOPWORDS and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def term_stem(word: str) -> str:
    """A crude stem for matching across inflections (no stemmer for Russian in SQLite)."""
    return word[: max(4, len(word) - 2)] if len(word) > 4 else word


def coverage(terms: list[str], text: str) -> float:
    """Share of `terms` found in `text` (by stem prefix): how much of the question a
    keyword hit actually answers, 1.0 when there are no terms."""
    if not terms:
        return 1.0
    stems = [term_stem(t) for t in terms]
    lengths = {len(s) for s in stems}
    prefixes = {w[:n] for w in _WORD.findall(text.lower()) for n in lengths}
    return sum(1 for s in stems if s in prefixes) / len(terms)


def fts_match_expression(query: str) -> str | None:
    """The MATCH string for `query`, or None when it has no searchable words."""
    terms: list[str] = []
    seen: set[str] = set()
    for match in _WORD.finditer(query.lower()):
        word = match.group(0).replace("_", "")
        if len(word) < 2 or word in _STOPWORDS or word in seen:
            continue
        seen.add(word)
        # Quoting makes every token a plain string: no operator or column syntax survives.
        quoted = '"' + word.replace('"', '""') + '"'
        if _CYRILLIC.search(word) and len(word) >= 5:
            stem = word[: max(4, len(word) - 2)]
            terms.append(f'({quoted} OR "{stem}"*)')
        else:
            terms.append(quoted)
        if len(terms) >= MAX_TERMS:
            break
    return " OR ".join(terms) if terms else None
