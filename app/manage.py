"""Account management from the shell, on the same database the app uses.

    python -m app.manage add-user NAME [--admin]   # password: prompted, or one line on stdin
    python -m app.manage issue-token NAME          # prints a new API token (rotates the old)
    python -m app.manage list-users
    python -m app.manage local-mode                # back to single-user mode, no accounts

Settings come from the environment (`IKAR_DATA_DIR`, ...) or `--config FILE`, as for
`launch.py`. Only the core tables are touched, so no model or engine is loaded.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app.security.users_auth import AccountsExistError, UserAuthenticator, UserExistsError
from app.storage.database import Database
from app.storage.repositories import UserRepository, migrate_core
from config.settings import SettingsError, load_settings

MIN_PASSWORD_CHARS = 8


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.manage", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-user", help="create a user with a password")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="mark the user as an admin")
    token = commands.add_parser("issue-token", help="create or rotate a user's API token")
    token.add_argument("name")
    commands.add_parser("list-users", help="list users")
    commands.add_parser(
        "local-mode",
        help="open the app without login again (only once no account has a password)",
    )
    return parser


def read_password(stdin: TextIO) -> str:
    """Prompt twice on a terminal; otherwise read one line (scripts: `echo pw | ...`)."""
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != first:
            raise ValueError("passwords do not match")
        return first
    return stdin.readline().rstrip("\r\n")


def _user_id(db: Database, name: str) -> str | None:
    wanted = name.strip().casefold()
    for user in UserRepository(db).list():
        if user.name.casefold() == wanted:
            return user.id
    return None


def main(
    argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    args = _parser().parse_args(argv)
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"ikar: {exc}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_path)
    try:
        migrate_core(db)
        auth = UserAuthenticator(db)
        if args.command == "add-user":
            try:
                password = read_password(stdin)
            except ValueError as exc:
                print(f"ikar: {exc}", file=sys.stderr)
                return 1
            if len(password) < MIN_PASSWORD_CHARS:
                print(f"ikar: password must have {MIN_PASSWORD_CHARS}+ characters", file=sys.stderr)
                return 1
            try:
                user_id = auth.create_user(args.name, password, is_admin=args.admin)
            except (UserExistsError, ValueError) as exc:
                print(f"ikar: {exc}", file=sys.stderr)
                return 1
            print(f"created user {args.name.strip()} ({user_id})", file=out)
            return 0
        if args.command == "issue-token":
            found = _user_id(db, args.name)
            if found is None:
                print(f"ikar: no user named {args.name!r}", file=sys.stderr)
                return 1
            # The only place the plain token ever appears: shown once, stored hashed.
            print(auth.issue_api_token(found), file=out)
            return 0
        if args.command == "local-mode":
            try:
                auth.open_local_mode()
            except AccountsExistError:
                print("ikar: accounts with passwords exist; delete them first", file=sys.stderr)
                return 1
            print("local mode: the app opens without login (loopback only)", file=out)
            return 0
        for user in UserRepository(db).list():
            flag = " (admin)" if user.is_admin else ""
            print(f"{user.id}\t{user.name}{flag}", file=out)
        return 0
    finally:
        db.close()


if __name__ == "__main__":
    raise SystemExit(main())
