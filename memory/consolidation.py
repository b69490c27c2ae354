"""`Consolidator`: the background "optimizer" of long-term memory.

One run does three things, each resumable and none of them touching the source messages
(the `messages` table is never read or written here; only memories are):
1. summarise old conversation windows: messages are grouped per conversation into fixed
   windows of `window_turns` in time order (so window i is stable as new turns arrive); a
   complete window older than `min_age_days`, outside the newest `keep_recent_turns`, is
   passed to the injected `summarize(lines) -> str` (an LLM call) and stored as a `summary`
   memory. Each finished window is recorded in `memory_consolidation_windows` in the same
   transaction as its summary, so a killed or cancelled run resumes where it stopped and
   never summarises a window twice.
2. merge near-duplicates: same user, persona and kind, cosine above the threshold; the older
   memory absorbs the newer one's sources (and pinned flag, max importance). Progress is a
   cursor (last checked id) in `memory_jobs`.
3. decay: importance of unpinned memories below `decay_below` is multiplied by
   `decay_per_day ** days since the last decay`, never under `importance_floor`.
The LLM call runs outside any transaction so chat turns are never blocked behind it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from memory.config import ConsolidationConfig
from memory.sqlite_store import SqliteMemoryStore
from memory.types import ConsolidationStatus
from memory.vector_index import FaissVectorIndex

log = logging.getLogger(__name__)

Summarize = Callable[[list[str]], str]
JOB = "consolidation"


class ConsolidationCancelled(Exception):
    pass


class Consolidator:
    def __init__(
        self,
        store: SqliteMemoryStore,
        index: FaissVectorIndex,
        config: ConsolidationConfig,
        summarize: Summarize | None,
        on_new_memories: Callable[[list[int]], None],
        on_removed: Callable[[list[int]], None],
        embedding_model: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._db = store.db
        self._index = index
        self._config = config
        self._summarize = summarize
        self._on_new = on_new_memories
        self._on_removed = on_removed
        self._model = embedding_model
        self._clock = clock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._counts = {
            "windows_done": 0,
            "summaries_created": 0,
            "duplicates_merged": 0,
            "decayed": 0,
        }
        self._recover_interrupted()

    # ----- control ------------------------------------------------------------------------

    def start(self, user_id: str | None = None) -> bool:
        """Start a run in a background thread; False when one is already running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._cancel.clear()
            self._thread = threading.Thread(
                target=self._run_safely, args=(user_id,), name="memory-consolidation", daemon=True
            )
            self._thread.start()
            return True

    def cancel(self) -> bool:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
        if running:
            self._cancel.set()
        return running

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def status(self) -> ConsolidationStatus:
        row = self._job_row()
        running = self._thread is not None and self._thread.is_alive()
        state = (
            "cancelling" if running and self._cancel.is_set() else "running" if running else "idle"
        )
        result = json.loads(row["result"]) if row and row["result"] else {}
        counts = self._counts if running else {**self._counts, **result.get("counts", {})}
        return ConsolidationStatus(
            state=state,
            last_started_at=row["started_at"] if row else None,
            last_finished_at=row["finished_at"] if row else None,
            last_result=result.get("outcome"),
            error=row["error"] if row else None,
            **counts,
        )

    # ----- the run ------------------------------------------------------------------------

    def _run_safely(self, user_id: str | None) -> None:
        try:
            self.run(user_id)
        except Exception:
            log.exception("memory consolidation failed")

    def run(self, user_id: str | None = None) -> ConsolidationStatus:
        """One synchronous run (the thread calls this; tests may too)."""
        self._counts = dict.fromkeys(self._counts, 0)
        self._set_job(state="running", started_at=self._clock(), finished_at=None, error=None)
        outcome, error = "completed", None
        try:
            if self._summarize is not None:
                self._summarise_windows(user_id)
            self._merge_duplicates(user_id)
            self._decay()
        except ConsolidationCancelled:
            outcome = "cancelled"
        except Exception as exc:
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("consolidation step failed")
        self._set_job(
            state="idle",
            finished_at=self._clock(),
            result=json.dumps({"outcome": outcome, "counts": self._counts}),
            error=error,
        )
        return self.status()

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise ConsolidationCancelled

    # step 1 --------------------------------------------------------------------------------

    def _summarise_windows(self, user_id: str | None) -> None:
        cfg = self._config
        cutoff = self._clock() - cfg.min_age_days * 86400
        with self._db.connect() as conn:
            sql = (
                "SELECT DISTINCT conversation_id FROM memories"
                " WHERE kind = 'turn' AND conversation_id IS NOT NULL"
            )
            params: list[Any] = []
            if user_id is not None:
                sql += " AND user_id = ?"
                params.append(user_id)
            conversations = [str(r[0]) for r in conn.execute(sql, params)]
        for conversation_id in conversations:
            messages = self._messages(conversation_id)
            eligible = max(0, len(messages) - cfg.keep_recent_turns)
            with self._db.connect() as conn:
                done = {
                    int(r[0])
                    for r in conn.execute(
                        "SELECT window_index FROM memory_consolidation_windows"
                        " WHERE conversation_id = ?",
                        (conversation_id,),
                    )
                }
            for w in range(eligible // cfg.window_turns):
                if w in done:
                    continue
                window = messages[w * cfg.window_turns : (w + 1) * cfg.window_turns]
                if window[-1]["created_at"] > cutoff:
                    break
                self._check_cancel()
                lines = [f"{m['role'] or 'user'}: {m['text']}" for m in window]
                summary = (self._summarize(lines) if self._summarize else "").strip()
                self._record_window(conversation_id, w, window, summary)

    def _messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's remembered messages in order, chunks joined back together."""
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT message_id, role, text, created_at, user_id, persona_id FROM memories"
                " WHERE conversation_id = ? AND kind = 'turn'"
                " ORDER BY created_at, message_id, chunk_index",
                (conversation_id,),
            ).fetchall()
        messages: list[dict[str, Any]] = []
        by_id: dict[str, dict[str, Any]] = {}
        for r in rows:
            key = str(r["message_id"])
            if key in by_id:
                by_id[key]["text"] += " " + r["text"]
                continue
            msg = {
                k: r[k]
                for k in ("message_id", "role", "text", "created_at", "user_id", "persona_id")
            }
            by_id[key] = msg
            messages.append(msg)
        return messages

    def _record_window(
        self, conversation_id: str, index: int, window: list[dict[str, Any]], summary: str
    ) -> None:
        now = self._clock()
        new_id: int | None = None
        with self._db.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM memory_consolidation_windows"
                " WHERE conversation_id = ? AND window_index = ?",
                (conversation_id, index),
            ).fetchone():
                return  # another run got here first
            if summary:
                cur = conn.execute(
                    "INSERT INTO memories(user_id, persona_id, conversation_id, kind, text,"
                    " created_at, updated_at, importance, source_message_ids)"
                    " VALUES (?, ?, ?, 'summary', ?, ?, ?, ?, ?)",
                    (
                        window[0]["user_id"],
                        window[0]["persona_id"],
                        conversation_id,
                        summary,
                        window[-1]["created_at"],
                        now,
                        self._config.summary_importance,
                        json.dumps([m["message_id"] for m in window]),
                    ),
                )
                new_id = int(cur.lastrowid or 0)
            conn.execute(
                "INSERT INTO memory_consolidation_windows VALUES (?, ?, ?, ?)",
                (conversation_id, index, new_id, now),
            )
        self._counts["windows_done"] += 1
        if new_id is not None:
            self._counts["summaries_created"] += 1
            self._on_new([new_id])

    # step 2 --------------------------------------------------------------------------------

    def _merge_duplicates(self, user_id: str | None) -> None:
        threshold = self._config.duplicate_cosine
        cursor = int(self._cursor().get("dedup_after_id", 0))
        while True:
            self._check_cancel()
            with self._db.connect() as conn:
                sql = (
                    "SELECT id, user_id, persona_id, kind, embedding FROM memories"
                    " WHERE id > ? AND embedding_model = ?"
                )
                params: list[Any] = [cursor, self._model]
                if user_id is not None:
                    sql += " AND user_id = ?"
                    params.append(user_id)
                rows = conn.execute(sql + " ORDER BY id LIMIT 200", params).fetchall()
            if not rows:
                return
            for row in rows:
                self._merge_one(row, threshold)
                cursor = int(row["id"])
            self._update_cursor(dedup_after_id=cursor)

    def _merge_one(self, row: Any, threshold: float) -> None:
        import numpy as np

        vec = np.frombuffer(row["embedding"], dtype=np.float32)
        candidates = [
            mid
            for mid, score in self._index.search(vec, 8)
            if mid < row["id"] and score >= threshold - 0.02
        ]
        if not candidates:
            return
        vectors = self._store.vectors(candidates, self._model)
        for other_id, other_vec in sorted(vectors.items()):
            if float(other_vec @ vec) < threshold:
                continue
            if self._merge_into(keep_id=other_id, drop_id=int(row["id"]), row=row):
                return

    def _merge_into(self, keep_id: int, drop_id: int, row: Any) -> bool:
        with self._db.transaction() as conn:
            keep = conn.execute("SELECT * FROM memories WHERE id = ?", (keep_id,)).fetchone()
            drop = conn.execute("SELECT * FROM memories WHERE id = ?", (drop_id,)).fetchone()
            if keep is None or drop is None:
                return False
            same_owner = (
                keep["user_id"] == drop["user_id"]
                and keep["persona_id"] == drop["persona_id"]
                and keep["kind"] == drop["kind"]
            )
            if not same_owner:
                return False
            sources = list(
                dict.fromkeys(
                    json.loads(keep["source_message_ids"]) + json.loads(drop["source_message_ids"])
                )
            )
            conn.execute(
                "UPDATE memories SET source_message_ids = ?, importance = ?, pinned = ?,"
                " updated_at = ?"
                " WHERE id = ?",
                (
                    json.dumps(sources),
                    max(keep["importance"], drop["importance"]),
                    max(keep["pinned"], drop["pinned"]),
                    self._clock(),
                    keep_id,
                ),
            )
            conn.execute("DELETE FROM memories WHERE id = ?", (drop_id,))
        self._on_removed([drop_id])
        self._counts["duplicates_merged"] += 1
        return True

    # step 3 --------------------------------------------------------------------------------

    def _decay(self) -> None:
        cfg = self._config
        now = self._clock()
        last = self._cursor().get("last_decay_at")
        if last is None:
            self._update_cursor(last_decay_at=now)
            return
        days = max(0.0, (now - float(last)) / 86400.0)
        if days <= 0:
            return
        factor = cfg.decay_per_day**days
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE memories SET importance = max(?, importance * ?)"
                " WHERE pinned = 0 AND importance < ? AND importance > ?",
                (cfg.importance_floor, factor, cfg.decay_below, cfg.importance_floor),
            )
            self._counts["decayed"] += cur.rowcount
        self._update_cursor(last_decay_at=now)

    def forget_conversations(self, conversation_ids: Sequence[str]) -> int:
        """Drop the window records of deleted conversations (joins the caller's transaction)."""
        with self._db.transaction() as conn:
            return sum(
                conn.execute(
                    "DELETE FROM memory_consolidation_windows WHERE conversation_id = ?", (cid,)
                ).rowcount
                for cid in conversation_ids
            )

    # ----- job row ------------------------------------------------------------------------

    def _job_row(self) -> Any:
        with self._db.connect() as conn:
            return conn.execute("SELECT * FROM memory_jobs WHERE name = ?", (JOB,)).fetchone()

    def _cursor(self) -> dict[str, Any]:
        row = self._job_row()
        return dict(json.loads(row["cursor"])) if row else {}

    def _update_cursor(self, **changes: Any) -> None:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT cursor FROM memory_jobs WHERE name = ?", (JOB,)).fetchone()
            cursor = json.loads(row["cursor"]) if row else {}
            cursor.update(changes)
            conn.execute(
                "INSERT INTO memory_jobs(name, state, cursor) VALUES (?, 'idle', ?)"
                " ON CONFLICT(name) DO UPDATE SET cursor = excluded.cursor",
                (JOB, json.dumps(cursor)),
            )

    def _set_job(self, **fields: Any) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO memory_jobs(name, state) VALUES (?, 'idle')"
                " ON CONFLICT(name) DO NOTHING",
                (JOB,),
            )
            sets = ", ".join(f"{k} = ?" for k in fields)
            conn.execute(f"UPDATE memory_jobs SET {sets} WHERE name = ?", (*fields.values(), JOB))

    def _recover_interrupted(self) -> None:
        row = self._job_row()
        if row is not None and row["state"] == "running":
            self._set_job(
                state="idle",
                result=json.dumps({"outcome": "interrupted", "counts": {}}),
                error="process stopped during the run; the next run resumes",
            )

    def last_finished_at(self) -> float | None:
        row = self._job_row()
        return float(row["finished_at"]) if row and row["finished_at"] is not None else None
