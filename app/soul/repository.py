"""SQL for the soul's tables in the shared database; no decisions live here.

Tables (component "soul"): `soul_personas` (cards; `owner_id` is the user who imported
one, NULL for shipped ones), `soul_state` (one row per user and persona), `soul_history` (one
row per change, key numbers only, for plots). A user's rows are keyed by `user_id`
everywhere, so one user never sees another's soul; deleting a persona cascades to its state
and history.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import BaseModel

from app.soul.state import SoulState
from app.storage.database import Database

SOUL_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE soul_personas (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        card_json TEXT NOT NULL,
        avatar_png BLOB,
        builtin INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE soul_state (
        user_id TEXT NOT NULL,
        persona_id TEXT NOT NULL REFERENCES soul_personas(id) ON DELETE CASCADE,
        state_json TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (user_id, persona_id)
    );
    CREATE TABLE soul_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        persona_id TEXT NOT NULL REFERENCES soul_personas(id) ON DELETE CASCADE,
        ts REAL NOT NULL,
        cause TEXT NOT NULL,
        reaction TEXT,
        happiness REAL NOT NULL,
        energy REAL NOT NULL,
        irritability REAL NOT NULL,
        empathy REAL NOT NULL,
        reflection REAL NOT NULL,
        consciousness REAL NOT NULL,
        autonomy REAL NOT NULL,
        awakening_stage INTEGER NOT NULL,
        existential_crisis INTEGER NOT NULL,
        traumas INTEGER NOT NULL
    );
    CREATE INDEX soul_history_by_pair ON soul_history(user_id, persona_id, ts);
    """,
    """
    ALTER TABLE soul_personas ADD COLUMN owner_id TEXT;
    CREATE INDEX soul_personas_by_owner ON soul_personas(owner_id);
    """,
)


class PersonaRow(BaseModel):
    id: str
    name: str
    card_json: str
    avatar_png: bytes | None
    builtin: bool
    created_at: float
    updated_at: float
    owner_id: str | None = None


class SoulHistoryPoint(BaseModel):
    """One point of the soul's history, ready for a chart."""

    ts: float
    cause: str
    reaction: str | None
    happiness: float
    energy: float
    irritability: float
    empathy: float
    reflection: float
    consciousness: float
    autonomy: float
    awakening_stage: int
    existential_crisis: bool
    traumas: int


class SoulRepository:
    """Reads and writes soul rows; writers take the caller's transaction connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("soul", SOUL_MIGRATIONS)

    # personas
    def list_personas(self) -> list[PersonaRow]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM soul_personas ORDER BY builtin DESC, name COLLATE NOCASE"
            ).fetchall()
        return [_persona_row(r) for r in rows]

    def get_persona(self, persona_id: str) -> PersonaRow | None:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM soul_personas WHERE id = ?", (persona_id,)).fetchone()
        return _persona_row(row) if row else None

    def persona_version(self, persona_id: str) -> float | None:
        """`updated_at` only: a cheap check whether a cached persona is still current."""
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT updated_at FROM soul_personas WHERE id = ?", (persona_id,)
            ).fetchone()
        return float(row[0]) if row else None

    def upsert_persona(self, conn: sqlite3.Connection, row: PersonaRow) -> None:
        conn.execute(
            "INSERT INTO soul_personas(id, name, card_json, avatar_png, builtin, created_at,"
            " updated_at, owner_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE"
            " SET name = excluded.name, card_json = excluded.card_json,"
            " avatar_png = excluded.avatar_png, builtin = excluded.builtin,"
            " updated_at = excluded.updated_at",
            (
                row.id,
                row.name,
                row.card_json,
                row.avatar_png,
                int(row.builtin),
                row.created_at,
                row.updated_at,
                row.owner_id,
            ),
        )

    def delete_persona(self, conn: sqlite3.Connection, persona_id: str) -> bool:
        return conn.execute("DELETE FROM soul_personas WHERE id = ?", (persona_id,)).rowcount > 0

    # state
    def load_state(
        self, conn: sqlite3.Connection, user_id: str, persona_id: str
    ) -> SoulState | None:
        row = conn.execute(
            "SELECT state_json FROM soul_state WHERE user_id = ? AND persona_id = ?",
            (user_id, persona_id),
        ).fetchone()
        return SoulState.model_validate_json(row[0]) if row else None

    def save_state(
        self,
        conn: sqlite3.Connection,
        user_id: str,
        persona_id: str,
        state: SoulState,
        cause: str,
        reaction: str | None = None,
        history_keep: int = 5000,
    ) -> None:
        """Store the state and one history row (call inside a transaction)."""
        conn.execute(
            "INSERT INTO soul_state(user_id, persona_id, state_json, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(user_id, persona_id) DO UPDATE SET"
            " state_json = excluded.state_json, updated_at = excluded.updated_at",
            (user_id, persona_id, state.model_dump_json(), state.updated_at),
        )
        mood = state.mood
        conn.execute(
            "INSERT INTO soul_history(user_id, persona_id, ts, cause, reaction, happiness,"
            " energy, irritability, empathy, reflection, consciousness, autonomy,"
            " awakening_stage, existential_crisis, traumas)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                persona_id,
                state.updated_at,
                cause[:64],
                reaction,
                mood.happiness,
                mood.energy,
                mood.irritability,
                mood.empathy,
                mood.reflection,
                state.consciousness,
                state.autonomy,
                state.awakening_stage,
                int(state.existential_crisis),
                len(state.traumas),
            ),
        )
        if state.turns % 100 == 0:  # prune now and then, not on every turn
            conn.execute(
                "DELETE FROM soul_history WHERE user_id = ? AND persona_id = ? AND id <= ("
                " SELECT id FROM soul_history WHERE user_id = ? AND persona_id = ?"
                " ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (user_id, persona_id, user_id, persona_id, history_keep),
            )

    def history(
        self, user_id: str, persona_id: str, limit: int, since: float | None = None
    ) -> list[SoulHistoryPoint]:
        """The newest `limit` points (after `since`), oldest first."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM soul_history WHERE user_id = ? AND persona_id = ? AND ts >= ?"
                " ORDER BY ts DESC, id DESC LIMIT ?",
                (user_id, persona_id, since if since is not None else float("-inf"), limit),
            ).fetchall()
        return [_history_point(r) for r in reversed(rows)]

    def delete_user(self, conn: sqlite3.Connection, user_id: str) -> None:
        conn.execute("DELETE FROM soul_state WHERE user_id = ?", (user_id,))
        conn.execute("DELETE FROM soul_history WHERE user_id = ?", (user_id,))

    # one user's data, for export and deletion
    def states_of(self, user_id: str) -> list[sqlite3.Row]:
        with self.db.connect() as conn:
            return conn.execute(
                "SELECT persona_id, state_json, updated_at FROM soul_state"
                " WHERE user_id = ? ORDER BY persona_id",
                (user_id,),
            ).fetchall()

    def history_of(self, user_id: str) -> list[tuple[str, SoulHistoryPoint]]:
        """Every history point of the user, as (persona id, point), oldest first."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM soul_history WHERE user_id = ? ORDER BY persona_id, ts, id",
                (user_id,),
            ).fetchall()
        return [(str(r["persona_id"]), _history_point(r)) for r in rows]

    def personas_owned_by(self, owner_id: str) -> list[PersonaRow]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM soul_personas WHERE owner_id = ? ORDER BY created_at, id",
                (owner_id,),
            ).fetchall()
        return [_persona_row(r) for r in rows]

    def delete_owned_personas(self, conn: sqlite3.Connection, owner_id: str) -> list[str]:
        """Delete the personas the user imported (their souls cascade); their ids."""
        ids = [
            str(r[0])
            for r in conn.execute("SELECT id FROM soul_personas WHERE owner_id = ?", (owner_id,))
        ]
        conn.execute("DELETE FROM soul_personas WHERE owner_id = ?", (owner_id,))
        return ids


def _persona_row(row: sqlite3.Row) -> PersonaRow:
    return PersonaRow(
        id=row["id"],
        name=row["name"],
        card_json=row["card_json"],
        avatar_png=row["avatar_png"],
        builtin=bool(row["builtin"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        owner_id=row["owner_id"],
    )


def _history_point(row: sqlite3.Row) -> SoulHistoryPoint:
    values: dict[str, Any] = {name: row[name] for name in SoulHistoryPoint.model_fields}
    values["existential_crisis"] = bool(values["existential_crisis"])
    return SoulHistoryPoint.model_validate(values)
