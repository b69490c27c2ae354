"""Repositories for the core tables. Synchronous: services call them through `db.run`."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

from app.storage.database import Database
from app.storage.records import Conversation, Message, User
from app.storage.schema import CORE_MIGRATIONS


def new_id() -> str:
    return uuid.uuid4().hex


class NotFoundError(Exception):
    """The row does not exist, or belongs to another user (callers must not tell which)."""


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create(self, user_id: str, name: str | None = None) -> User:
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO users(id, name, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT(id) DO NOTHING",
                (user_id, name or user_id, now),
            )
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row)

    def get(self, user_id: str) -> User:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFoundError(user_id)
        return _user(row)

    def list(self) -> list[User]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY created_at").fetchall()
        return [_user(r) for r in rows]

    def delete(self, user_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount > 0

    # The account itself is user data too (app/services/user_data.py): registered first,
    # so its row is deleted last. Credentials (password and token hashes) are never exported.
    data_tables: tuple[str, ...] = ("users",)

    def count_user_data(self, user_id: str) -> dict[str, int]:
        return {}

    def export_user_data(self, user_id: str) -> dict[str, Any]:
        user = self.get(user_id)
        return {"user": user.model_dump()}

    def delete_user_data(
        self, user_id: str, after_commit: Callable[[Callable[[], None]], None]
    ) -> dict[str, int]:
        self.delete(user_id)
        return {}


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        user_id: str,
        title: str,
        persona_id: str | None = None,
        created_at: float | None = None,
    ) -> Conversation:
        now = created_at or time.time()
        conv = Conversation(
            id=new_id(),
            user_id=user_id,
            persona_id=persona_id,
            title=title,
            created_at=now,
            updated_at=now,
        )
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO conversations(id, user_id, persona_id, title, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (conv.id, user_id, persona_id, title, now, now),
            )
        return conv

    def get(self, user_id: str, conversation_id: str) -> Conversation:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
                " AS message_count FROM conversations c WHERE c.id = ? AND c.user_id = ?",
                (conversation_id, user_id),
            ).fetchone()
        if row is None:
            raise NotFoundError(conversation_id)
        return _conversation(row)

    def list(self, user_id: str, limit: int = 200) -> list[Conversation]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
                " AS message_count FROM conversations c WHERE c.user_id = ?"
                " ORDER BY c.updated_at DESC LIMIT ?",
                (user_id, limit),
            ).fetchall()
        return [_conversation(r) for r in rows]

    def rename(self, user_id: str, conversation_id: str, title: str) -> Conversation:
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND user_id = ?",
                (title, conversation_id, user_id),
            ).rowcount
        if not changed:
            raise NotFoundError(conversation_id)
        return self.get(user_id, conversation_id)

    def set_persona(self, user_id: str, conversation_id: str, persona_id: str) -> None:
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE conversations SET persona_id = ? WHERE id = ? AND user_id = ?",
                (persona_id, conversation_id, user_id),
            ).rowcount
        if not changed:
            raise NotFoundError(conversation_id)

    def detach_persona(self, persona_id: str) -> int:
        """Every conversation with this persona goes on with the default (joins the
        caller's transaction); how many there were."""
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE conversations SET persona_id = NULL WHERE persona_id = ?", (persona_id,)
            ).rowcount

    def delete(self, user_id: str, conversation_id: str) -> None:
        with self.db.transaction() as conn:
            changed = conn.execute(
                "DELETE FROM conversations WHERE id = ? AND user_id = ?",
                (conversation_id, user_id),
            ).rowcount
        if not changed:
            raise NotFoundError(conversation_id)

    def count_for_user(self, user_id: str) -> int:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM conversations WHERE user_id = ?", (user_id,)
            ).fetchone()
        return int(row[0])


class MessageRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        conversation_id: str,
        user_id: str,
        role: str,
        author: str,
        content: str,
        *,
        persona_id: str | None = None,
        model: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        meta: dict[str, Any] | None = None,
        created_at: float | None = None,
    ) -> Message:
        """Append a message; the conversation's owner is checked in the same transaction."""
        now = created_at if created_at is not None else time.time()
        with self.db.transaction() as conn:
            owner = conn.execute(
                "SELECT user_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if owner is None or owner["user_id"] != user_id:
                raise NotFoundError(conversation_id)
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()[0]
            msg = Message(
                id=new_id(),
                conversation_id=conversation_id,
                user_id=user_id,
                seq=seq,
                role=role,
                author=author,
                content=content,
                created_at=now,
                persona_id=persona_id,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                meta=meta or {},
            )
            conn.execute(
                "INSERT INTO messages(id, conversation_id, user_id, seq, role, author, content,"
                " created_at, persona_id, model, prompt_tokens, completion_tokens, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    msg.id,
                    conversation_id,
                    user_id,
                    seq,
                    role,
                    author,
                    content,
                    now,
                    persona_id,
                    model,
                    prompt_tokens,
                    completion_tokens,
                    json.dumps(msg.meta, ensure_ascii=False),
                ),
            )
            conn.execute(
                "UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                (now, conversation_id),
            )
        return msg

    def update_meta(self, user_id: str, message_id: str, meta: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE messages SET meta = ? WHERE id = ? AND user_id = ?",
                (json.dumps(meta, ensure_ascii=False), message_id, user_id),
            ).rowcount
        if not changed:
            raise NotFoundError(message_id)

    def owns_artifact(self, user_id: str, key: str) -> bool:
        """Whether one of the user's replies shows this artifact: its exact key among the
        media the server recorded with the reply (`meta.media[].key`), never a substring of
        anything an importer could write."""
        if not key.isalnum():
            return False
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM messages m, json_each("
                "   CASE WHEN json_valid(m.meta) THEN m.meta ELSE '{}' END, '$.media') j"
                " WHERE m.user_id = ? AND m.role = 'assistant'"
                " AND json_extract(m.meta, '$.imported') IS NULL"
                " AND json_extract(j.value, '$.key') = ? LIMIT 1",
                (user_id, key),
            ).fetchone()
        return row is not None

    def list(self, user_id: str, conversation_id: str, limit: int | None = None) -> list[Message]:
        """Messages in order; with `limit`, the newest `limit` ones (still oldest first)."""
        query = (
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.conversation_id = ? AND c.user_id = ? ORDER BY m.seq DESC"
        )
        args: tuple[Any, ...] = (conversation_id, user_id)
        if limit is not None:
            query += " LIMIT ?"
            args += (limit,)
        with self.db.connect() as conn:
            rows = conn.execute(query, args).fetchall()
        return [_message(r) for r in reversed(rows)]

    def get(self, user_id: str, message_id: str) -> Message:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM messages WHERE id = ? AND user_id = ?", (message_id, user_id)
            ).fetchone()
        if row is None:
            raise NotFoundError(message_id)
        return _message(row)

    def delete_from(self, user_id: str, conversation_id: str, seq: int) -> int:
        """Delete the messages from `seq` on (regenerate / edit rewrite the tail)."""
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND user_id = ? AND seq >= ?",
                (conversation_id, user_id, seq),
            ).rowcount

    def count(self, user_id: str, conversation_id: str) -> int:
        """Messages in one of the user's conversations (0 for someone else's)."""
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND user_id = ?",
                (conversation_id, user_id),
            ).fetchone()
        return int(row[0])

    def count_for_user(self, user_id: str) -> int:
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM messages WHERE user_id = ?", (user_id,)
                ).fetchone()[0]
            )


def migrate_core(db: Database) -> None:
    db.migrate("core", CORE_MIGRATIONS)


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"], name=row["name"], created_at=row["created_at"], is_admin=bool(row["is_admin"])
    )


def _conversation(row: sqlite3.Row) -> Conversation:
    keys = row.keys()
    return Conversation(
        id=row["id"],
        user_id=row["user_id"],
        persona_id=row["persona_id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        message_count=row["message_count"] if "message_count" in keys else 0,
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        user_id=row["user_id"],
        seq=row["seq"],
        role=row["role"],
        author=row["author"],
        content=row["content"],
        created_at=row["created_at"],
        persona_id=row["persona_id"],
        model=row["model"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        meta=json.loads(row["meta"] or "{}"),
    )
