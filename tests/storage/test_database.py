import sqlite3
import threading
from pathlib import Path

import pytest

from app.storage.database import Database


def test_wal_mode_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    with db.connect() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_run_once_in_order(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    steps = ["CREATE TABLE a(x INTEGER);", "ALTER TABLE a ADD COLUMN y TEXT;"]
    assert db.migrate("comp", steps[:1]) == 1
    assert db.migrate("comp", steps) == 2
    assert db.migrate("comp", steps) == 2  # nothing re-run
    db.close()
    again = Database(tmp_path / "x.sqlite3")
    assert again.version("comp") == 2
    with again.connect() as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(a)")]
    assert cols == ["x", "y"]


def test_failed_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    broken = "CREATE TABLE b(x INTEGER);\nINSERT INTO nope VALUES (1);"
    with pytest.raises(sqlite3.OperationalError):
        db.migrate("comp", [broken])
    assert db.version("comp") == 0
    with db.connect() as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name='b'").fetchone() is None


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    db.migrate("t", ["CREATE TABLE t(v INTEGER);"])
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    with db.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0


def test_concurrent_writers_from_threads(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    db.migrate("t", ["CREATE TABLE t(v INTEGER);"])

    def write(n: int) -> None:
        for i in range(50):
            with db.transaction() as conn:
                conn.execute("INSERT INTO t VALUES (?)", (n * 1000 + i,))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with db.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 200


def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    db.migrate("t", ["CREATE TABLE t(v INTEGER);"])
    with db.transaction() as conn:
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    db.backup(tmp_path / "copy.sqlite3")
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("SELECT SUM(v) FROM t").fetchone()[0] == 45
