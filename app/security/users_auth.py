"""User authentication over the shared database: passwords (UI login) and API tokens (REST).

The `users` table belongs to the core schema (`app/storage/schema.py`); this module only reads
and writes its `password_hash` and `api_token_hash` columns, so the composition root must
have applied the core migrations first.

Accounts mode is sticky: once an account with a password exists, the database remembers that
accounts are required (`account_policy`), and deleting every account closes the app (nobody
can log in, every API call is 401) instead of reopening it to anyone. Only an operator at the
shell can go back to local mode (`python -m app.manage local-mode`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import HTTPConnection

from app.errors import ErrorHTTPException
from app.security.errors import UnauthorizedError
from app.security.passwords import (
    DEFAULT_ROUNDS,
    generate_api_token,
    hash_api_token,
    hash_password,
    verify_api_token,
    verify_password,
)
from app.storage.database import Database

ACCOUNTS_MIGRATIONS = (
    """
    CREATE TABLE account_policy (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
)
_REQUIRED = "accounts_required"


class UserExistsError(ValueError):
    """A user with that name (ignoring case) already exists."""


class UnknownUserError(LookupError):
    """No user has that id."""


class AccountsExistError(RuntimeError):
    """Local mode was asked for while accounts with passwords exist."""


def _require_accounts(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO account_policy(key, value, updated_at) VALUES (?, '1', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = '1'",
        (_REQUIRED, time.time()),
    )


class UserAuthenticator:
    """Creates users and checks their passwords and API tokens.

    Unknown names still cost one bcrypt check, so response time does not reveal which names
    exist.
    """

    def __init__(self, db: Database, rounds: int = DEFAULT_ROUNDS) -> None:
        self._db = db
        self._rounds = rounds
        self._dummy_hash: str | None = None
        self._required = False  # cached once true: it only ever turns false from the shell
        db.migrate("accounts", ACCOUNTS_MIGRATIONS)
        with db.transaction() as conn:  # installs from before the policy table
            if conn.execute("SELECT 1 FROM users WHERE password_hash IS NOT NULL").fetchone():
                _require_accounts(conn)

    def create_user(self, name: str, password: str, is_admin: bool = False) -> str:
        """Create a user with a password; return the new user id."""
        clean = name.strip()
        if not clean:
            raise ValueError("user name must not be empty")
        password_hash = hash_password(password, self._rounds)  # slow: outside the transaction
        user_id = uuid.uuid4().hex
        with self._db.transaction() as conn:
            if self._find_id(conn.execute("SELECT id, name FROM users").fetchall(), clean):
                raise UserExistsError(f"user {clean!r} already exists")
            conn.execute(
                "INSERT INTO users(id, name, created_at, password_hash, is_admin)"
                " VALUES (?, ?, ?, ?, ?)",
                (user_id, clean, time.time(), password_hash, int(is_admin)),
            )
            _require_accounts(conn)
        return user_id

    def set_password(self, user_id: str, password: str) -> None:
        """Replace a user's password."""
        password_hash = hash_password(password, self._rounds)
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
            )
            if cursor.rowcount == 0:
                raise UnknownUserError(user_id)
            _require_accounts(conn)

    def authenticate_password(self, name: str, password: str) -> str | None:
        """The user id if `name` and `password` match, else None."""
        with self._db.connect() as conn:
            rows = conn.execute("SELECT id, name, password_hash FROM users").fetchall()
        user_id = self._find_id(rows, name.strip())
        stored = next((r["password_hash"] for r in rows if r["id"] == user_id), None)
        if user_id is None or stored is None:
            verify_password(password, self._dummy())  # same cost as a real check
            return None
        return user_id if verify_password(password, stored) else None

    async def gradio_auth(self, username: str, password: str) -> bool:
        """Gradio's `auth=` callable: `(username, password) -> bool`; bcrypt runs in a
        thread (gradio awaits a coroutine, but calls a plain function on the event loop).
        Throttling is `LoginThrottleMiddleware`'s."""
        user_id = await asyncio.to_thread(self.authenticate_password, username, password)
        return user_id is not None

    def issue_api_token(self, user_id: str) -> str:
        """Create (or rotate) the user's API token; the plain token is returned only here."""
        token = generate_api_token()
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET api_token_hash = ? WHERE id = ?",
                (hash_api_token(token), user_id),
            )
            if cursor.rowcount == 0:
                raise UnknownUserError(user_id)
        return token

    def revoke_api_token(self, user_id: str) -> None:
        """Invalidate the user's API token."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE users SET api_token_hash = NULL WHERE id = ?", (user_id,))

    def user_for_api_token(self, token: str | None) -> str | None:
        """The id of the user whose API token this is, else None."""
        if not token:
            return None
        digest = hash_api_token(token)
        # Looking up by the digest of a 256-bit random token leaks nothing useful through
        # timing; the compare_digest below is belt and braces.
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT id, api_token_hash FROM users WHERE api_token_hash = ?", (digest,)
            ).fetchone()
        if row is None or not verify_api_token(token, row["api_token_hash"]):
            return None
        return str(row["id"])

    def is_admin(self, user_id: str) -> bool:
        """Whether the user has the admin flag."""
        with self._db.connect() as conn:
            row = conn.execute("SELECT is_admin FROM users WHERE id = ?", (user_id,)).fetchone()
        return bool(row and row["is_admin"])

    def user_id_for_name(self, name: str) -> str | None:
        """The id of the account with this login name (names are unique ignoring case)."""
        with self._db.connect() as conn:
            rows = conn.execute("SELECT id, name FROM users").fetchall()
        return self._find_id(rows, name)

    def users_configured(self) -> bool:
        """Whether this install uses accounts: a password was ever set, even if every
        account has since been deleted (see `exposure_check` and the module docstring)."""
        if self._required:
            return True
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM account_policy WHERE key = ? AND value = '1'", (_REQUIRED,)
            ).fetchone()
        self._required = row is not None
        return self._required

    def open_local_mode(self) -> None:
        """Forget that accounts were required (the operator's choice, from the shell): only
        while no account with a password exists. Raises `AccountsExistError` otherwise."""
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE password_hash IS NOT NULL").fetchone():
                raise AccountsExistError("accounts with passwords exist")
            conn.execute("DELETE FROM account_policy WHERE key = ?", (_REQUIRED,))
        self._required = False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = hash_password(uuid.uuid4().hex, self._rounds)
        return self._dummy_hash

    @staticmethod
    def _find_id(rows: Sequence[sqlite3.Row], name: str) -> str | None:
        wanted = name.casefold()
        for row in rows:
            if str(row["name"]).casefold() == wanted:
                return str(row["id"])
        return None


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token from an `Authorization: Bearer <token>` header."""
    scheme, _, value = conn.headers.get("authorization", "").partition(" ")
    return value if scheme.lower() == "bearer" and value else None


def require_user(auth: UserAuthenticator) -> Callable[[HTTPConnection], Awaitable[str]]:
    """A FastAPI dependency returning the user id for a valid API token, else 401."""

    async def user_required(conn: HTTPConnection) -> str:
        token = bearer_token(conn)
        user_id = await asyncio.to_thread(auth.user_for_api_token, token) if token else None
        if user_id is None:
            raise ErrorHTTPException(UnauthorizedError(), conn.headers.get("accept-language"))
        return user_id

    return user_required
