"""Who said a turn is part of the memory: stored, keyword-indexed, embedded, shown, and
filled in (with a new vector) for memories stored before attribution existed."""

from __future__ import annotations

import time
from pathlib import Path

from app.storage.database import Database
from memory import MemoryConfig, MemoryQuery, TurnIn, build_memory, format_memory_line
from memory.passages import passage_text, vector_key
from tests.waits import CATCH_UP_S


def _turns(user: str = "u") -> list[TurnIn]:
    said = [
        (
            "Nadia",
            "user",
            "We finally adopted a scruffy terrier from the shelter! I named him Biscuit.",
        ),
        ("Tom", "assistant", "No way! We got a kitten last month, she's called Mochi."),
        ("Nadia", "user", "Work was exhausting today, three meetings in a row."),
        ("Tom", "assistant", "I finished painting a sunset over the lake for my mum."),
        ("Nadia", "user", "I've been painting every evening this week too."),
    ]
    return [
        TurnIn(
            user_id=user,
            conversation_id="c1",
            message_id=f"m{i}",
            role=role,  # type: ignore[arg-type]
            text=text,
            created_at=1_700_000_000.0 + i * 60,
            author=author,
        )
        for i, (author, role, text) in enumerate(said)
    ]


def test_passage_text_puts_the_author_and_context_first() -> None:
    assert passage_text("Anna", "I paint.") == "Anna: I paint."
    assert passage_text(None, "I paint.") == "I paint."
    assert passage_text("Tom", "Yes!", [("Anna", "Coffee?")]) == "Anna: Coffee?\nTom: Yes!"
    assert vector_key("e5", 0) != vector_key("e5", 1)


def test_author_is_stored_indexed_and_shown(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.remember_turns(_turns())
    assert svc.wait_until_indexed(CATCH_UP_S)
    items = svc.list_memories("u").items
    assert {i.author for i in items} == {"Nadia", "Tom"}
    # keyword search finds Tom's turns by his name although the text never says it
    hits = svc.search(MemoryQuery(user_id="u", query="Tom", mode="keyword", k=5))
    assert hits and {h.author for h in hits} == {"Tom"}
    line = format_memory_line(hits[0])
    assert "] Tom: " in line
    # the stored vector was made from "Author: text"
    item = next(i for i in items if i.message_id == "m3")
    stored = svc.store.vectors([item.id], svc.vector_key)[item.id]
    expected = hash_embedder.embed_passages([f"Tom: {item.text}"])[0]
    assert float(stored @ expected) > 0.999


def test_real_embedder_tells_speakers_apart(make_service, e5) -> None:
    svc = make_service(embedder=e5)
    svc.remember_turns(_turns())
    assert svc.wait_until_indexed(CATCH_UP_S)
    for query, want in (
        ("What is the name of Nadia's dog?", "m0"),
        ("What did Tom paint?", "m3"),
    ):
        hits = svc.search(MemoryQuery(user_id="u", query=query, mode="dense", k=1))
        assert hits[0].source_message_ids == [want], (query, hits[0].text)


def _chat_tables(db: Database) -> None:
    """The app tables the author lookup reads (a subset of app/storage/schema.py)."""
    with db.transaction() as conn:
        conn.execute("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute("CREATE TABLE soul_personas (id TEXT PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute(
            "CREATE TABLE messages (id TEXT PRIMARY KEY, role TEXT, author TEXT, content TEXT)"
        )
        conn.execute("INSERT INTO users VALUES ('u', 'Ivan')")
        conn.execute("INSERT INTO users VALUES ('local', 'local')")  # a name never set
        conn.execute("INSERT INTO soul_personas VALUES ('mira', 'Мира')")
        conn.executemany(
            "INSERT INTO messages VALUES (?, ?, ?, ?)",
            [
                ("m0", "user", "u", "У меня кот Барсик"),  # chat: author = user id
                ("m1", "assistant", "mira", "Какое чудесное имя!"),  # chat: persona id
                ("m2", "user", "Маша", "Я переехала в Казань"),  # imported speaker
            ],
        )


def test_missing_author_is_looked_up_from_the_stored_message(
    make_service, db, hash_embedder
) -> None:
    _chat_tables(db)
    svc = make_service(embedder=hash_embedder)
    svc.remember_turn("u", "mira", "c", "m0", "user", "У меня кот Барсик", 1.0)
    svc.remember_turn("u", "mira", "c", "m1", "assistant", "Какое чудесное имя!", 2.0)
    svc.remember_turn("u", "mira", "c", "m2", "user", "Я переехала в Казань", 3.0)
    svc.remember_turn("u", "mira", "c", "m9", "user", "Unknown message", 4.0)
    svc.remember_turn("u", "mira", "c", "m8", "user", "Explicit", 5.0, author="Ваня")
    by_message = {i.message_id: i.author for i in svc.list_memories("u").items}
    assert by_message == {"m0": "Ivan", "m1": "Мира", "m2": "Маша", "m9": "Ivan", "m8": "Ваня"}
    svc.remember_turn("local", "mira", "c2", "l1", "user", "I have a dog", 6.0)
    assert svc.list_memories("local").items[0].author is None  # "local" is nobody's name


def test_old_memories_get_authors_and_new_vectors_with_visible_resumable_progress(
    db: Database, tmp_path: Path, hash_embedder
) -> None:
    _chat_tables(db)
    svc = build_memory(db, MemoryConfig(), tmp_path / "index", embedder=hash_embedder)
    svc.start()
    for i, mid in enumerate(("m0", "m1", "m2")):
        svc.remember_turn("u", "mira", "c", mid, "user" if i != 1 else "assistant", f"t{i}", i)
    svc.remember_turns(
        [TurnIn(user_id="u", conversation_id="c", message_id=f"x{i}", role="user",
                text=f"old turn {i}", created_at=10.0 + i, author="Ivan") for i in range(7)]
    )  # fmt: skip
    assert svc.wait_until_indexed(CATCH_UP_S)
    svc.close()
    # Make the database look as it did before attribution: no authors, old vectors.
    with db.transaction() as conn:
        conn.execute("UPDATE memories SET author = NULL, embedding_model = 'hash-bow'")

    svc = build_memory(db, MemoryConfig(), tmp_path / "index", embedder=hash_embedder)
    svc._begin_reembed()  # what start() does first, without the writer thread
    status = svc.reembed_status()
    assert (status.state, status.total, status.done) == ("running", 10, 0)
    assert status.vector_format == svc.vector_key
    half = sorted(svc.store.pending_ids(svc.vector_key))[:5]
    svc.ingest._process(half)  # half of the work, then the process "dies"
    assert svc.reembed_status().done == 5

    svc = build_memory(db, MemoryConfig(), tmp_path / "index", embedder=hash_embedder)
    svc.start()  # resumes: same total, authors backfilled, the rest re-embedded
    assert svc.status().reembed.total == 10
    assert svc.wait_until_indexed(CATCH_UP_S)
    health = svc.status(exact=True)
    assert health.reembed.state == "done" and health.reembed.progress == 1.0
    assert health.index.consistent and health.index.size == 10
    assert svc.store.count_stale_vectors(svc.vector_key) == 0
    authors = {i.message_id: i.author for i in svc.list_memories("u").items}
    assert authors["m0"] == "Ivan" and authors["m1"] == "Мира" and authors["m2"] == "Маша"
    svc.close()


def test_repeated_queries_skip_the_embedder(make_service, hash_embedder) -> None:
    calls: list[int] = []
    original = hash_embedder.embed_queries

    def counting(texts):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return original(texts)

    hash_embedder.embed_queries = counting
    svc = make_service(embedder=hash_embedder)
    svc.remember_turns(_turns())
    assert svc.wait_until_indexed(CATCH_UP_S)
    first = svc.search(MemoryQuery(user_id="u", query="painting", k=3))
    started = time.perf_counter()
    again = svc.search(MemoryQuery(user_id="u", query="painting", k=3))
    assert time.perf_counter() - started < 5
    assert [h.id for h in first] == [h.id for h in again]
    assert calls == [1]


def test_schema_upgrade_keeps_old_rows_searchable(tmp_path: Path, hash_embedder) -> None:
    """A database made before attribution (schema v1) upgrades in place: old rows stay,
    the rebuilt keyword index finds them, and start() re-embeds them."""
    from memory.schema import MEMORY_MIGRATIONS

    db = Database(tmp_path / "old.db")
    db.migrate("memory", MEMORY_MIGRATIONS[:1])
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO memories(user_id, kind, role, text, created_at, updated_at,"
            " embedding_model, embedding) VALUES ('u', 'turn', 'user', 'My cat is Barsik',"
            " 1.0, 1.0, 'hash-bow', ?)",
            (hash_embedder.embed_passages(["My cat is Barsik"])[0].tobytes(),),
        )
    svc = build_memory(db, MemoryConfig(), tmp_path / "index", embedder=hash_embedder)
    assert db.version("memory") == len(MEMORY_MIGRATIONS)
    assert svc.search(MemoryQuery(user_id="u", query="Barsik", mode="keyword"))
    svc.start()
    assert svc.wait_until_indexed(CATCH_UP_S)
    assert svc.status().reembed.state == "done"
    assert svc.search(MemoryQuery(user_id="u", query="Barsik cat", mode="dense"))
    svc.close()
    db.close()
