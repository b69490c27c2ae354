"""`SqliteMemoryStore`: memories in the shared SQLite database (the source of truth).

Every method is one short transaction or one read, so the chat pipeline's synchronous
insert never waits long behind the background writer or the consolidation job.
Ownership is enforced here: every read and write that takes a memory id also takes the
user id, and namespace filtering is a SQL clause, never a Python afterthought.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from app.storage.database import Database
from memory.authors import TurnRef
from memory.chunking import chunk_text
from memory.fts_query import fts_match_expression
from memory.passages import passage_text
from memory.protocols import Vectors
from memory.schema import MEMORY_MIGRATIONS
from memory.types import (
    MemoryFilter,
    MemoryItem,
    MemoryPage,
    MemoryPatch,
    Namespace,
    NewMemory,
    TurnIn,
)

_COLUMNS = (
    "id, user_id, persona_id, conversation_id, message_id, role, author, kind, text, created_at,"
    " updated_at, importance, pinned, source_message_ids, chunk_index, chunk_count,"
    " embedding_model"
)


def namespace_clause(ns: Namespace, alias: str = "") -> tuple[str, list[Any]]:
    """SQL condition (and its parameters) limiting rows to what `ns` may see.

    A persona sees its own memories and the user's persona-less ("user-wide") ones;
    `persona_id=None` means the whole user (shared mode, or the user's own memory browser).
    """
    p = f"{alias}." if alias else ""
    if ns.persona_id is None:
        return f"{p}user_id = ?", [ns.user_id]
    return f"{p}user_id = ? AND ({p}persona_id = ? OR {p}persona_id IS NULL)", [
        ns.user_id,
        ns.persona_id,
    ]


def _row_to_item(row: sqlite3.Row) -> MemoryItem:
    return MemoryItem(
        id=row["id"],
        user_id=row["user_id"],
        persona_id=row["persona_id"],
        kind=row["kind"],
        role=row["role"],
        author=row["author"],
        text=row["text"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        importance=row["importance"],
        pinned=bool(row["pinned"]),
        source_message_ids=json.loads(row["source_message_ids"]),
        conversation_id=row["conversation_id"],
        message_id=row["message_id"],
        chunk_index=row["chunk_index"],
        chunk_count=row["chunk_count"],
        embedding_model=row["embedding_model"],
    )


def _vector_from_blob(blob: bytes) -> Vectors:
    return np.frombuffer(blob, dtype=np.float32)


class SqliteMemoryStore:
    """Memories, their FTS5 mirror and their vectors in one SQLite database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate("memory", MEMORY_MIGRATIONS)

    @property
    def db(self) -> Database:
        return self._db

    # ----- writes -------------------------------------------------------------------------

    def add(self, items: Sequence[NewMemory], chunk_max_chars: int | None = None) -> list[int]:
        """Insert memories (long texts split into chunks) in one transaction; return row ids."""
        now = time.time()
        ids: list[int] = []
        with self._db.transaction() as conn:
            for item in items:
                ids.extend(self._insert(conn, item, now, chunk_max_chars))
        return ids

    def add_turns(self, turns: Sequence[TurnIn], chunk_max_chars: int) -> list[int]:
        """Insert chat turns; a message already remembered for that user is skipped, so
        re-sending or re-importing a conversation never duplicates memories. Callers resolve
        `author` first (`MemoryService.remember_turns` does)."""
        now = time.time()
        ids: list[int] = []
        with self._db.transaction() as conn:
            for turn in turns:
                if not turn.text.strip():
                    continue
                exists = conn.execute(
                    "SELECT 1 FROM memories WHERE message_id = ? AND user_id = ? AND kind = 'turn'",
                    (turn.message_id, turn.user_id),
                ).fetchone()
                if exists:
                    continue
                item = NewMemory(
                    user_id=turn.user_id,
                    persona_id=turn.persona_id,
                    text=turn.text,
                    kind="turn",
                    importance=0.3,
                    conversation_id=turn.conversation_id,
                    message_id=turn.message_id,
                    role=turn.role,
                    author=turn.author,
                    source_message_ids=[turn.message_id],
                    created_at=turn.created_at,
                )
                ids.extend(self._insert(conn, item, now, chunk_max_chars))
        return ids

    def _insert(
        self, conn: sqlite3.Connection, item: NewMemory, now: float, max_chars: int | None
    ) -> list[int]:
        chunks = chunk_text(item.text, max_chars) if max_chars else [item.text.strip()]
        chunks = chunks or [item.text]
        created = item.created_at if item.created_at is not None else now
        ids: list[int] = []
        for index, chunk in enumerate(chunks):
            cur = conn.execute(
                "INSERT INTO memories(user_id, persona_id, conversation_id, message_id, role,"
                " author, kind, text, created_at, updated_at, importance, pinned,"
                " source_message_ids, chunk_index, chunk_count)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    item.user_id,
                    item.persona_id,
                    item.conversation_id,
                    item.message_id,
                    item.role,
                    " ".join(item.author.split()) or None if item.author else None,
                    item.kind,
                    chunk,
                    created,
                    now,
                    item.importance,
                    int(item.pinned),
                    json.dumps(item.source_message_ids),
                    index,
                    len(chunks),
                ),
            )
            assert cur.lastrowid is not None
            ids.append(int(cur.lastrowid))
        return ids

    def update(self, memory_id: int, user_id: str, patch: MemoryPatch) -> MemoryItem | None:
        """Apply a patch; a text change clears the vector so the writer re-embeds it."""
        sets: list[str] = []
        params: list[Any] = []
        if patch.text is not None:
            sets += ["text = ?", "embedding = NULL", "embedding_model = NULL"]
            params.append(patch.text.strip())
        if patch.pinned is not None:
            sets.append("pinned = ?")
            params.append(int(patch.pinned))
        if patch.importance is not None:
            sets.append("importance = ?")
            params.append(patch.importance)
        with self._db.transaction() as conn:
            if sets:
                sets.append("updated_at = ?")
                params.append(time.time())
                cur = conn.execute(
                    f"UPDATE memories SET {', '.join(sets)} WHERE id = ? AND user_id = ?",
                    (*params, memory_id, user_id),
                )
                if cur.rowcount == 0:
                    return None
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE id = ? AND user_id = ?",
                (memory_id, user_id),
            ).fetchone()
        return _row_to_item(row) if row else None

    def delete(self, memory_id: int, user_id: str) -> bool:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM memories WHERE id = ? AND user_id = ?", (memory_id, user_id)
            )
        return cur.rowcount > 0

    def forget_messages(self, user_id: str, message_ids: Sequence[str]) -> list[int]:
        """Forget what the given chat messages left in memory (a turn regenerated over or
        edited away); returns the removed memory ids.

        Turn memories of those messages go (every chunk). A summary built from any of them
        goes too and its window is marked undone, so consolidation summarises the remaining
        turns again. A fact or note that cites them loses the citation; an extracted fact
        whose only source was such a message goes with it.
        """
        wanted = sorted({m for m in message_ids if m})
        if not wanted:
            return []
        removed: list[int] = []
        with self._db.transaction() as conn:
            for batch in _batches_str(wanted, 400):
                marks = ",".join("?" * len(batch))
                removed += [
                    int(r[0])
                    for r in conn.execute(
                        f"SELECT id FROM memories WHERE user_id = ? AND kind = 'turn'"
                        f" AND message_id IN ({marks})",
                        (user_id, *batch),
                    )
                ]
            gone = set(wanted)
            derived = conn.execute(
                "SELECT id, kind, source_message_ids FROM memories WHERE user_id = ?"
                " AND kind != 'turn' AND source_message_ids != '[]'",
                (user_id,),
            ).fetchall()
            for row in derived:
                sources = [str(x) for x in json.loads(row[2])]
                if not gone.intersection(sources):
                    continue
                left = [x for x in sources if x not in gone]
                if row[1] == "summary" or (row[1] == "fact" and not left):
                    removed.append(int(row[0]))
                else:
                    conn.execute(
                        "UPDATE memories SET source_message_ids = ? WHERE id = ?",
                        (json.dumps(left), int(row[0])),
                    )
            for ids in _batches(removed, 400):
                marks = ",".join("?" * len(ids))
                conn.execute(
                    "DELETE FROM memory_consolidation_windows"
                    f" WHERE summary_memory_id IN ({marks})",
                    ids,
                )
                conn.execute(f"DELETE FROM memories WHERE id IN ({marks})", ids)
        return removed

    def delete_user(self, user_id: str) -> list[int]:
        """Forget everything of a user (account deletion); returns the removed ids."""
        with self._db.transaction() as conn:
            ids = [
                int(r[0])
                for r in conn.execute("SELECT id FROM memories WHERE user_id = ?", (user_id,))
            ]
            conn.execute("DELETE FROM memories WHERE user_id = ?", (user_id,))
        return ids

    def set_vectors(self, rows: Sequence[tuple[int, str, Vectors]], model: str) -> list[int]:
        """Store vectors for (id, text-they-were-made-from, vector); a row whose text changed
        meanwhile is left pending (its new text will be embedded), so no stale vector lands."""
        stored: list[int] = []
        with self._db.transaction() as conn:
            for memory_id, text, vector in rows:
                cur = conn.execute(
                    "UPDATE memories SET embedding = ?, embedding_model = ?"
                    " WHERE id = ? AND text = ?",
                    (np.asarray(vector, dtype=np.float32).tobytes(), model, memory_id, text),
                )
                if cur.rowcount:
                    stored.append(memory_id)
        return stored

    # ----- reads --------------------------------------------------------------------------

    def get(self, memory_id: int, user_id: str) -> MemoryItem | None:
        with self._db.connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE id = ? AND user_id = ?",
                (memory_id, user_id),
            ).fetchone()
        return _row_to_item(row) if row else None

    def get_many(self, ids: Sequence[int]) -> dict[int, MemoryItem]:
        """Rows by id with no ownership check: callers pass ids already namespace-filtered."""
        out: dict[int, MemoryItem] = {}
        with self._db.connect() as conn:
            for batch in _batches(list(ids), 500):
                marks = ",".join("?" * len(batch))
                for row in conn.execute(
                    f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})", batch
                ):
                    out[int(row["id"])] = _row_to_item(row)
        return out

    def passages(
        self, ids: Sequence[int], context_turns: int = 0, context_chars: int = 300
    ) -> dict[int, tuple[str, str]]:
        """(stored text, text to embed) by id: the author's name before the text and, for
        turns, up to `context_turns` earlier turns of the same conversation before that."""
        out: dict[int, tuple[str, str]] = {}
        with self._db.connect() as conn:
            for batch in _batches(list(ids), 500):
                marks = ",".join("?" * len(batch))
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})", batch
                ).fetchall()
                for row in rows:
                    context: list[tuple[str | None, str]] = []
                    if context_turns > 0 and row["kind"] == "turn" and row["conversation_id"]:
                        before = conn.execute(
                            "SELECT author, text FROM memories WHERE conversation_id = ?"
                            " AND user_id = ? AND kind = 'turn' AND chunk_index = 0"
                            " AND message_id IS NOT ?"
                            " AND (created_at < ? OR (created_at = ? AND id < ?))"
                            " ORDER BY created_at DESC, id DESC LIMIT ?",
                            (
                                row["conversation_id"],
                                row["user_id"],
                                row["message_id"],
                                row["created_at"],
                                row["created_at"],
                                row["id"],
                                context_turns,
                            ),
                        ).fetchall()
                        context = [
                            (b[0], _clip(str(b[1]), context_chars)) for b in reversed(before)
                        ]
                    text = str(row["text"])
                    out[int(row["id"])] = (text, passage_text(row["author"], text, context))
        return out

    def turns_without_author(self, after_id: int, limit: int) -> list[tuple[int, TurnRef]]:
        """Turn memories stored before attribution (or whose author is still unknown),
        by id after `after_id`."""
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT id, message_id, role, user_id, persona_id FROM memories"
                " WHERE id > ? AND kind = 'turn' AND author IS NULL ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [(int(r[0]), TurnRef(r[1], r[2], r[3], r[4])) for r in rows]

    def set_authors(self, rows: Sequence[tuple[int, str]]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE memories SET author = ? WHERE id = ? AND author IS NULL",
                [(author, memory_id) for memory_id, author in rows],
            )

    def texts(self, ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        with self._db.connect() as conn:
            for batch in _batches(list(ids), 500):
                marks = ",".join("?" * len(batch))
                for row in conn.execute(
                    f"SELECT id, text FROM memories WHERE id IN ({marks})", batch
                ):
                    out[int(row[0])] = str(row[1])
        return out

    def filter_namespace(self, ids: Sequence[int], ns: Namespace) -> set[int]:
        """The subset of `ids` that `ns` may see.

        Rows are fetched by primary key and checked here: with the namespace in the WHERE
        clause SQLite preferred the (user_id, ...) index and walked all of the user's rows
        (3 ms at 20k memories instead of 0.2 ms)."""
        allowed: set[int] = set()
        with self._db.connect() as conn:
            for batch in _batches(list(ids), 500):
                marks = ",".join("?" * len(batch))
                for row in conn.execute(
                    f"SELECT id, user_id, persona_id FROM memories WHERE id IN ({marks})", batch
                ):
                    if row[1] == ns.user_id and (
                        ns.persona_id is None or row[2] is None or row[2] == ns.persona_id
                    ):
                        allowed.add(int(row[0]))
        return allowed

    def fusion_meta(
        self, ids: Sequence[int]
    ) -> dict[int, tuple[float, float, bool, str | None, str]]:
        """(created_at, importance, pinned, author, text) by id: what fusion needs, without
        building whole items for the ~100 candidates of which only k are kept."""
        out: dict[int, tuple[float, float, bool, str | None, str]] = {}
        with self._db.connect() as conn:
            for batch in _batches(list(ids), 500):
                marks = ",".join("?" * len(batch))
                for row in conn.execute(
                    "SELECT id, created_at, importance, pinned, author, text FROM memories"
                    f" WHERE id IN ({marks})",
                    batch,
                ):
                    out[int(row[0])] = (
                        float(row[1]),
                        float(row[2]),
                        bool(row[3]),
                        row[4],
                        str(row[5]),
                    )
        return out

    def list_memories(self, user_id: str, flt: MemoryFilter) -> MemoryPage:
        where = ["user_id = ?"]
        params: list[Any] = [user_id]
        if flt.kind is not None:
            where.append("kind = ?")
            params.append(flt.kind)
        if flt.pinned is not None:
            where.append("pinned = ?")
            params.append(int(flt.pinned))
        if flt.persona_id is not None:
            where.append("persona_id = ?")
            params.append(flt.persona_id)
        if flt.conversation_id is not None:
            where.append("conversation_id = ?")
            params.append(flt.conversation_id)
        if flt.contains:
            where.append("instr(lower(text), lower(?)) > 0")
            params.append(flt.contains)
        cond = " AND ".join(where)
        with self._db.connect() as conn:
            total = int(
                conn.execute(f"SELECT count(*) FROM memories WHERE {cond}", params).fetchone()[0]
            )
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE {cond}"
                " ORDER BY pinned DESC, created_at DESC, id DESC LIMIT ? OFFSET ?",
                (*params, flt.limit, flt.offset),
            ).fetchall()
        return MemoryPage(items=[_row_to_item(r) for r in rows], total=total)

    def all_for_user(self, user_id: str) -> Iterator[MemoryItem]:
        with self._db.connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE user_id = ? ORDER BY created_at, id",
                (user_id,),
            ).fetchall()
        for row in rows:
            yield _row_to_item(row)

    def keyword_search(
        self, namespace: Namespace, query: str, limit: int, author_weight: float = 1.0
    ) -> list[tuple[int, float]]:
        """(id, bm25) best first (SQLite's bm25 is lower-is-better; we return it negated).
        The author column counts `author_weight` times as much as the text per match.

        The FTS table is ranked alone and its head filtered to the namespace by primary
        key (as dense candidates are): joining every match to `memories` before ranking
        cost ~7 ms at 100k memories. When the namespace is a small part of the matches
        (many users), the join is the fallback."""
        expression = fts_match_expression(query)
        if expression is None:
            return []
        with self._db.connect() as conn:
            fetch = limit * 4
            for _ in range(2):
                rows = conn.execute(
                    "SELECT rowid, bm25(memories_fts, ?, 1.0) AS rank FROM memories_fts"
                    " WHERE memories_fts MATCH ? ORDER BY rank LIMIT ?",
                    (author_weight, expression, fetch),
                ).fetchall()
                allowed = self.filter_namespace([int(r[0]) for r in rows], namespace)
                if len(allowed) >= limit or len(rows) < fetch:
                    hits = [(int(r[0]), -float(r[1])) for r in rows if int(r[0]) in allowed]
                    return hits[:limit]
                fetch *= 8
            clause, params = namespace_clause(namespace, "m")
            rows = conn.execute(
                "SELECT m.id, bm25(memories_fts, ?, 1.0) AS rank FROM memories_fts"
                " JOIN memories m ON m.id = memories_fts.rowid"
                f" WHERE memories_fts MATCH ? AND {clause} ORDER BY rank LIMIT ?",
                (author_weight, expression, *params, limit),
            ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def pinned_ids(self, namespace: Namespace, limit: int) -> list[int]:
        clause, params = namespace_clause(namespace)
        with self._db.connect() as conn:
            rows = conn.execute(
                f"SELECT id FROM memories WHERE pinned = 1 AND {clause}"
                " ORDER BY importance DESC, created_at DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def vectors(self, ids: Sequence[int], model: str | None = None) -> dict[int, Vectors]:
        """Stored vectors by id (only those made by `model` when given)."""
        out: dict[int, Vectors] = {}
        with self._db.connect() as conn:
            for batch in _batches(list(ids), 500):
                marks = ",".join("?" * len(batch))
                sql = f"SELECT id, embedding, embedding_model FROM memories WHERE id IN ({marks})"
                for row in conn.execute(sql, batch):
                    if row[1] is None or (model is not None and row[2] != model):
                        continue
                    out[int(row[0])] = _vector_from_blob(row[1])
        return out

    def neighbours(self, item: MemoryItem, n: int) -> tuple[list[MemoryItem], list[MemoryItem]]:
        """Up to n turns before and after `item` in its conversation (other messages only)."""
        if n <= 0 or item.conversation_id is None:
            return [], []
        with self._db.connect() as conn:
            before = conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE conversation_id = ? AND kind = 'turn'"
                " AND user_id = ? AND chunk_index = 0 AND message_id IS NOT ?"
                " AND (created_at < ? OR (created_at = ? AND id < ?))"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (
                    item.conversation_id,
                    item.user_id,
                    item.message_id,
                    item.created_at,
                    item.created_at,
                    item.id,
                    n,
                ),
            ).fetchall()
            after = conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE conversation_id = ? AND kind = 'turn'"
                " AND user_id = ? AND chunk_index = 0 AND message_id IS NOT ?"
                " AND (created_at > ? OR (created_at = ? AND id > ?))"
                " ORDER BY created_at, id LIMIT ?",
                (
                    item.conversation_id,
                    item.user_id,
                    item.message_id,
                    item.created_at,
                    item.created_at,
                    item.id,
                    n,
                ),
            ).fetchall()
        return [_row_to_item(r) for r in reversed(before)], [_row_to_item(r) for r in after]

    # ----- vectors bookkeeping ------------------------------------------------------------

    def pending_ids(self, model: str, limit: int = 1_000_000) -> list[int]:
        """Rows without a vector from `model` (new, edited, or made by another embedder)."""
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT id FROM memories WHERE embedding_model IS NULL OR embedding_model != ?"
                " ORDER BY id DESC LIMIT ?",
                (model, limit),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def count_stale_vectors(self, model: str) -> int:
        """Rows whose vector was made by another recipe or embedder (to be re-embedded)."""
        with self._db.connect() as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM memories WHERE embedding_model IS NOT NULL"
                    " AND embedding_model != ?",
                    (model,),
                ).fetchone()[0]
            )

    def job(self, name: str) -> dict[str, Any] | None:
        """A row of `memory_jobs` as a dict (cursor decoded), or None."""
        with self._db.connect() as conn:
            row = conn.execute("SELECT * FROM memory_jobs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return {
            "state": row["state"],
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "cursor": dict(json.loads(row["cursor"] or "{}")),
        }

    def set_job(
        self,
        name: str,
        state: str,
        cursor: dict[str, Any],
        started_at: float | None = None,
        finished_at: float | None = None,
    ) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO memory_jobs(name, state, started_at, finished_at, cursor)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
                " state = excluded.state, cursor = excluded.cursor,"
                " started_at = coalesce(excluded.started_at, started_at),"
                " finished_at = excluded.finished_at",
                (name, state, started_at, finished_at, json.dumps(cursor)),
            )

    def count_pending(self, model: str) -> int:
        with self._db.connect() as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM memories WHERE embedding_model IS NULL"
                    " OR embedding_model != ?",
                    (model,),
                ).fetchone()[0]
            )

    def vector_ids(self, model: str) -> np.ndarray:
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT id FROM memories WHERE embedding_model = ? ORDER BY id", (model,)
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def iter_vectors(self, model: str, batch: int = 10_000) -> Iterator[tuple[np.ndarray, Vectors]]:
        """All (ids, matrix) stored for `model`, in id order and bounded memory."""
        last = -1
        while True:
            with self._db.connect() as conn:
                rows = conn.execute(
                    "SELECT id, embedding FROM memories WHERE embedding_model = ? AND id > ?"
                    " ORDER BY id LIMIT ?",
                    (model, last, batch),
                ).fetchall()
            if not rows:
                return
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            mat = np.vstack([_vector_from_blob(r[1]) for r in rows]).astype(np.float32)
            last = int(ids[-1])
            yield ids, mat

    def stats(self, user_id: str | None = None) -> tuple[int, dict[str, int], int]:
        """(total, counts by kind, pinned) for one user or everyone."""
        cond, params = ("WHERE user_id = ?", [user_id]) if user_id else ("", [])
        with self._db.connect() as conn:
            by_kind = {
                str(r[0]): int(r[1])
                for r in conn.execute(
                    f"SELECT kind, count(*) FROM memories {cond} GROUP BY kind", params
                )
            }
            pinned = int(
                conn.execute(
                    f"SELECT count(*) FROM memories {cond} {'AND' if cond else 'WHERE'} pinned = 1",
                    params,
                ).fetchone()[0]
            )
        return sum(by_kind.values()), by_kind, pinned


def _batches(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batches_str(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
