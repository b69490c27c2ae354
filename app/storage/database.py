"""One SQLite database (WAL) shared by every component, with per-component migrations.

Why one file: a user's conversations, soul, memories and artifacts live together, so a backup
is one consistent snapshot and deleting a user is one transaction. Components (memory, media,
soul, ...) register their own ordered migration lists under their own name, so each owns its
schema without a central file that everyone edits.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


class Database:
    """Thread-safe access to one SQLite file.

    Each thread gets its own connection (sqlite3 connections must not cross threads);
    writers serialise on SQLite's own lock (`BEGIN IMMEDIATE` + busy timeout). Async code
    calls `await db.run(fn, ...)` so the event loop never blocks on disk.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._migrate_lock = threading.Lock()
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions ("
                " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across process kills in WAL mode (only an OS crash may lose
            # the last commits); FULL makes every chat turn wait for fsync.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads (autocommit mode)."""
        yield self._connection()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all or nothing, taken with the write lock up front."""
        conn = self._connection()
        if conn.in_transaction:  # nested use joins the outer transaction
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def migrate(self, component: str, migrations: Sequence[str]) -> int:
        """Apply the component's migrations that have not run yet; return its version.

        Each entry is one SQL script; entry i brings the component to version i + 1.
        """
        with self._migrate_lock, self.transaction() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
            current = int(row["version"]) if row else 0
            for version, script in enumerate(migrations[current:], start=current + 1):
                for statement in _split_sql(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_versions(component, version) VALUES (?, ?)"
                    " ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (component, version),
                )
            return max(current, len(migrations))

    def version(self, component: str) -> int:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
        return int(row["version"]) if row else 0

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking database work in a worker thread."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def backup(self, target: Path) -> None:
        """A consistent copy made with SQLite's online backup API, while serving."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.unlink(missing_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private copy
        dst = sqlite3.connect(str(tmp))
        try:
            self._connection().backup(dst)
        finally:
            dst.close()
        tmp.replace(target)

    def ping(self) -> bool:
        with self.connect() as conn:
            return conn.execute("SELECT 1").fetchone()[0] == 1

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._all.clear()
        self._local = threading.local()


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (sqlite3.execute takes one at a time).

    `executescript` would commit our transaction half-way, so a failed migration could leave
    a half-applied schema; splitting keeps each migration atomic.
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
