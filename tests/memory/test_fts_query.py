"""User text never breaks or escapes FTS5 query syntax."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from memory import MemoryQuery, NewMemory
from memory.fts_query import fts_match_expression
from tests.waits import CATCH_UP_S

HOSTILE = [
    '"',
    '""',
    "'; DROP TABLE memories; --",
    "AND",
    "OR OR OR",
    "NOT cat",
    "NEAR(cat dog, 2)",
    "text:secret",
    "^start",
    "cat*",
    "(unbalanced",
    "{text}: x",
    "собака AND кот",
    "🐶🐱",
    "\x00\x01",
    "ß ǅ Ωmega",
    "",
    "   ",
    "-cat +dog",
    "a" * 5000,
]


def test_expression_quotes_every_term() -> None:
    expr = fts_match_expression('NEAR(cat "dog") AND text:secret')
    assert expr is not None
    assert "NEAR" not in expr.replace('"near"', "") and "text:" not in expr
    assert fts_match_expression("!!! ???") is None
    assert fts_match_expression("the a of") is None  # only stopwords


def test_hostile_queries_search_without_error(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.add_memories(
        [NewMemory(user_id="u", text="cat and dog live together; text secret собака кот")]
    )
    assert svc.wait_until_indexed(CATCH_UP_S)
    for q in HOSTILE:
        for mode in ("keyword", "hybrid"):
            hits = svc.search(MemoryQuery(user_id="u", query=q, mode=mode))
            assert isinstance(hits, list)
    hits = svc.search(MemoryQuery(user_id="u", query="собака AND кот", mode="keyword"))
    assert hits and hits[0].keyword_rank == 1


def test_russian_inflections_match_by_prefix(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.add_memories([NewMemory(user_id="u", text="Вчера я гулял с собакой в парке")])
    hits = svc.search(MemoryQuery(user_id="u", query="где моя собака?", mode="keyword"))
    assert len(hits) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_valid_fts5(text: str) -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61')")
    conn.execute("INSERT INTO t VALUES ('hello world привет мир')")
    expr = fts_match_expression(text)
    if expr is not None:
        start = time.monotonic()
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,)).fetchall()
        assert time.monotonic() - start < 1.0
