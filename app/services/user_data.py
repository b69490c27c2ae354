"""Per-user data: every component that keeps rows about a user answers for them itself.

A component holding per-user data implements `UserDataOwner`: it counts, exports and deletes
one user's rows in its own tables. The composition root registers every owner in one
`UserDataRegistry`; admin (list users, export a user, delete a user) iterates the registry,
so a new component is covered by export and delete by registering, not by admin code that
knows its tables. `UserDataRegistry.unclaimed_tables` names any table with a user column
that no owner claims (a test fails on it), so a forgotten owner does not go unnoticed.

Deleting a user is one transaction: every owner deletes inside it (the `Database` joins
nested transactions on the same thread), owners registered last delete first, and the
account row goes last. Work outside SQLite (a vector index, files) is handed to
`after_commit` and runs only once the rows are really gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from app.services.errors import ServiceError
from app.storage.database import Database

log = logging.getLogger(__name__)

AfterCommit = Callable[[Callable[[], None]], None]

# Column names that tie a row to a user; a table with one must have an owner.
USER_COLUMNS = ("user_id", "owner_id")


class UserDataOwner(Protocol):
    """A component that keeps rows about users.

    `data_tables`: the tables it keeps per-user rows in. `count_user_data` and
    `export_user_data` return sections merged into the admin's user summary and export (keys
    must not collide with another owner's). `delete_user_data` runs inside the registry's
    transaction and returns what it deleted; it passes work that must wait for the commit
    (index updates, file removal) to `after_commit`.
    """

    @property
    def data_tables(self) -> tuple[str, ...]: ...

    def count_user_data(self, user_id: str) -> dict[str, int]: ...

    def export_user_data(self, user_id: str) -> dict[str, Any]: ...

    def delete_user_data(self, user_id: str, after_commit: AfterCommit) -> dict[str, int]: ...


class UserDataRegistry:
    """Every `UserDataOwner`, in registration order; the account owner comes first."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock
        self._owners: list[tuple[str, UserDataOwner]] = []

    def register(self, name: str, owner: UserDataOwner) -> None:
        """Add an owner; `name` is for logs and errors (one per component)."""
        if any(existing == name for existing, _ in self._owners):
            raise ValueError(f"user data owner {name!r} registered twice")
        self._owners.append((name, owner))

    @property
    def owners(self) -> list[tuple[str, UserDataOwner]]:
        return list(self._owners)

    def claimed_tables(self) -> set[str]:
        return {table for _, owner in self._owners for table in owner.data_tables}

    def unclaimed_tables(self) -> list[str]:
        """Tables with a user column (`user_id`, `owner_id`) that no owner claims."""
        claimed = self.claimed_tables()
        with self.db.connect() as conn:
            tables = [
                str(r[0])
                for r in conn.execute(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            unclaimed = []
            for table in tables:
                columns = {str(c[1]) for c in conn.execute(f'PRAGMA table_info("{table}")')}
                if columns & set(USER_COLUMNS) and table not in claimed:
                    unclaimed.append(table)
        return sorted(unclaimed)

    def exists(self, user_id: str) -> bool:
        with self.db.connect() as conn:
            return (
                conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is not None
            )

    def require(self, user_id: str) -> None:
        if not self.exists(user_id):
            raise ServiceError("admin.error.user_not_found", 404, user=user_id)

    def count(self, user_id: str) -> dict[str, int]:
        """How much of the user's data each owner holds, merged: {"messages": 4, ...}."""
        counts: dict[str, int] = {}
        for name, owner in self._owners:
            try:
                counts.update(owner.count_user_data(user_id))
            except Exception:  # a broken component must not hide the users
                log.exception("counting %s data failed", name)
        return counts

    def export(self, user_id: str) -> dict[str, Any]:
        """Everything the owners hold about the user, one section per kind of data."""
        self.require(user_id)
        doc: dict[str, Any] = {
            "format": "ikar.user-export",
            "version": 1,
            "exported_at": self._clock(),
        }
        for name, owner in self._owners:
            sections = owner.export_user_data(user_id)
            clash = set(sections) & set(doc)
            if clash:
                raise RuntimeError(f"{name} exports sections already taken: {sorted(clash)}")
            doc.update(sections)
        return doc

    def delete(self, user_id: str) -> dict[str, int]:
        """Forget the user everywhere in one transaction; returns the counts deleted."""
        self.require(user_id)
        deleted: dict[str, int] = {}
        pending: list[Callable[[], None]] = []
        with self.db.transaction():
            for _, owner in reversed(self._owners):
                deleted.update(owner.delete_user_data(user_id, pending.append))
        for step in pending:
            try:
                step()
            except Exception:  # the rows are gone; derived state is repaired on the next start
                log.exception("cleanup after deleting a user failed")
        log.info("deleted a user", extra={"user_id": user_id, **deleted})
        return deleted
