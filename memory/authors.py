"""Who said a turn, when the caller did not say.

Why: a memory "I adopted a puppy called Rex" is useless for "what is Nadia's dog called?"
unless it knows Nadia said it (on a public long-conversation benchmark, putting the speaker
into the embedded text took dense recall@10 from 0.18 to 0.53). Callers should pass
`TurnIn.author`; for those that do not (older call sites, and memories stored before
attribution existed) the name is read from the stored chat message: an imported message
keeps its speaker; a chat message stores the user id or persona id, which are mapped to the
user's and persona's display names. Only reads; every table is optional, so the memory
component still works on a database that holds nothing else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.storage.database import Database

# What the chat stores as the author of a reply when the conversation has no persona.
_GENERIC_ASSISTANT = {"assistant", "ikar", "bot", "ai"}


@dataclass(frozen=True)
class TurnRef:
    """What is known about a turn whose author is wanted."""

    message_id: str | None
    role: str | None
    user_id: str
    persona_id: str | None


class MessageAuthors:
    """Resolves authors from the app's `messages`, `users` and `soul_personas` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _tables(self, conn: sqlite3.Connection) -> set[str]:
        return {
            str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }

    def resolve(self, refs: Sequence[TurnRef]) -> list[str | None]:
        """One author (or None when nothing is known) per ref, in order."""
        if not refs:
            return []
        with self._db.connect() as conn:
            tables = self._tables(conn)
            stored = self._message_authors(conn, tables, (r.message_id for r in refs))
            users = self._names(conn, tables, "users", {r.user_id for r in refs})
            personas = self._names(
                conn, tables, "soul_personas", {r.persona_id for r in refs if r.persona_id}
            )
        out: list[str | None] = []
        for ref in refs:
            author = stored.get(ref.message_id or "")
            out.append(self._display(ref, author, users, personas))
        return out

    @staticmethod
    def _display(
        ref: TurnRef, author: str | None, users: dict[str, str], personas: dict[str, str]
    ) -> str | None:
        if ref.role == "user":
            if author is None or author == ref.user_id:
                # an account whose name was never set is named by its id ("local"): that
                # is no one's name, and "local: ..." would only add noise to the vector
                name = users.get(ref.user_id)
                return name if name and name != ref.user_id else None
            return author
        if ref.role == "assistant":
            if author is None or author == ref.persona_id or author.lower() in _GENERIC_ASSISTANT:
                name = personas.get(ref.persona_id or "")
                return name or author
            return author
        return author

    @staticmethod
    def _message_authors(
        conn: sqlite3.Connection, tables: set[str], ids: Iterable[str | None]
    ) -> dict[str, str]:
        wanted = sorted({i for i in ids if i})
        if "messages" not in tables or not wanted:
            return {}
        out: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            marks = ",".join("?" * len(batch))
            for row in conn.execute(
                f"SELECT id, author FROM messages WHERE id IN ({marks})", batch
            ):
                if row[1]:
                    out[str(row[0])] = str(row[1])
        return out

    @staticmethod
    def _names(
        conn: sqlite3.Connection, tables: set[str], table: str, ids: set[str | None]
    ) -> dict[str, str]:
        wanted = sorted(i for i in ids if i)
        if table not in tables or not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        return {
            str(r[0]): str(r[1])
            for r in conn.execute(f"SELECT id, name FROM {table} WHERE id IN ({marks})", wanted)
            if r[1]
        }
