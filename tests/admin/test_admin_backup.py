"""Backup and restore: a consistent snapshot out, a validated snapshot back in."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from app.ui.admin_tab import AdminTab
from app.ui.labels import Labels
from tests.admin.conftest import AdminApp, fake_request, seed_user
from tests.gradio_queue import as_upload


def _user_ids(app: AdminApp, **headers: str) -> set[str]:
    r = app.client.get("/api/admin/users", headers=headers)
    assert r.status_code == 200, r.text
    return {u["id"] for u in r.json()["items"]}


def _ids_from_another_thread(app: AdminApp) -> set[str]:
    """Read through a different thread's connection: the restore must reach every one."""
    out: set[str] = set()

    def read() -> None:
        out.update(u.id for u in app.services.users.list())

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return out


def test_backup_then_restore_round_trip(
    admin_app: AdminApp, auth: dict[str, str], tmp_path: Path
) -> None:
    services = admin_app.services
    seed_user(services, "before", messages=4)
    assert _ids_from_another_thread(admin_app) == {"before"}  # that thread now holds a conn

    r = admin_app.client.get("/api/admin/backup", headers=auth)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.sqlite3"
    assert "attachment" in r.headers["content-disposition"]
    snapshot = tmp_path / "snapshot.sqlite3"
    snapshot.write_bytes(r.content)
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the served temp file is removed after sending
    assert not list(services.admin.backups_dir.glob("ikar-backup-*.sqlite3"))

    # written after the backup: must disappear
    seed_user(services, "after", messages=2)
    before_conv = services.chat.conversations.list("before")[0].id
    services.chat.messages.add(before_conv, "before", "user", "user", "late message")
    assert _user_ids(admin_app, **auth) == {"before", "after"}

    with snapshot.open("rb") as handle:
        r = admin_app.client.post(
            "/api/admin/restore",
            headers=auth,
            files={"file": ("snapshot.sqlite3", handle, "application/octet-stream")},
        )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["users"] == 1 and result["components"]["core"] >= 1

    assert _user_ids(admin_app, **auth) == {"before"}
    assert _ids_from_another_thread(admin_app) == {"before"}
    messages = services.chat.messages.list("before", before_conv)
    assert [m.content for m in messages] == [f"before message {i}" for i in range(4)]
    assert services.soul.get_state("before", "chatumba") is not None
    with services.db.connect() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # the app keeps working on the restored database
    seed_user(services, "later", messages=1)
    assert _user_ids(admin_app, **auth) == {"before", "later"}

    # the data replaced by the restore was saved first
    safety = services.admin.backups_dir / result["safety_backup"]
    with sqlite3.connect(safety) as conn:
        saved = {row[0] for row in conn.execute("SELECT id FROM users")}
    assert saved == {"before", "after"}
    # no upload leftovers
    assert not list(services.admin.backups_dir.glob("upload-*"))


def _restore(app: AdminApp, auth: dict[str, str], data: bytes) -> Any:
    return app.client.post(
        "/api/admin/restore",
        headers=auth,
        files={"file": ("x.sqlite3", data, "application/octet-stream")},
    )


def _live_state(app: AdminApp) -> tuple[set[str], int]:
    with app.services.db.connect() as conn:
        count = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    return {u.id for u in app.services.users.list()}, count


def test_restore_rejects_a_file_that_is_not_sqlite(
    admin_app: AdminApp, auth: dict[str, str]
) -> None:
    seed_user(admin_app.services, "keep", messages=3)
    before = _live_state(admin_app)
    for data in (b"", b"hello, this is not a database", b"SQLite format 3" + b"\x00" * 10):
        r = _restore(admin_app, auth, data)
        assert r.status_code == 400, r.text
        assert r.json()["error"] in ("not_sqlite", "backup_corrupt")
        assert "Nothing was changed" in r.json()["message"]
    assert _live_state(admin_app) == before
    assert not list(admin_app.services.admin.backups_dir.glob("pre-restore-*"))


def test_restore_rejects_sqlite_without_the_schema(
    admin_app: AdminApp, auth: dict[str, str], tmp_path: Path
) -> None:
    seed_user(admin_app.services, "keep", messages=3)
    before = _live_state(admin_app)
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    with conn:
        conn.execute("CREATE TABLE users (id TEXT, name TEXT)")
        conn.execute("INSERT INTO users VALUES ('intruder', 'x')")
    conn.close()
    r = _restore(admin_app, auth, other.read_bytes())
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "backup_schema"
    assert "schema_versions" in body["message"] and "conversations" in body["message"]
    assert _live_state(admin_app) == before


def test_restore_rejects_a_backup_of_another_schema_version(
    admin_app: AdminApp, auth: dict[str, str], tmp_path: Path
) -> None:
    seed_user(admin_app.services, "keep")
    snapshot = tmp_path / "old.sqlite3"
    admin_app.services.db.backup(snapshot)
    conn = sqlite3.connect(snapshot)
    with conn:  # commits
        conn.execute("UPDATE schema_versions SET version = version + 1 WHERE component = 'soul'")
    conn.close()  # checkpoints the WAL into the file we upload
    before = _live_state(admin_app)
    r = _restore(admin_app, auth, snapshot.read_bytes())
    assert r.status_code == 400
    assert r.json()["error"] == "backup_version" and "soul" in r.json()["message"]
    assert _live_state(admin_app) == before


def test_tab_backup_and_restore(admin_app: AdminApp, tmp_path: Path) -> None:
    from tests.admin.conftest import TOKEN

    services = admin_app.services
    seed_user(services, "tab-before")
    tab = AdminTab(services, Labels(), None)  # type: ignore[arg-type]
    session = {"lang": "en"}
    status, link = asyncio.run(tab.on_backup(TOKEN, session, fake_request()))
    assert status.startswith("✓") and "(downloads/" in link  # a one-time link
    (backup,) = services.admin.backups_dir.glob("ikar-backup-*.sqlite3")
    assert backup.name in link and backup.stat().st_size > 0
    seed_user(services, "tab-after")
    status, _ = asyncio.run(
        tab.on_restore(TOKEN, session, as_upload(backup), False, fake_request())
    )
    assert "Tick" in status
    assert {u.id for u in services.users.list()} == {"tab-before", "tab-after"}
    status, _ = asyncio.run(tab.on_restore(TOKEN, session, as_upload(backup), True, fake_request()))
    assert status.startswith("✓"), status
    assert {u.id for u in services.users.list()} == {"tab-before"}
    junk = tmp_path / "junk.db"
    junk.write_text("nope")
    status, _ = asyncio.run(tab.on_restore(TOKEN, session, as_upload(junk), True, fake_request()))
    assert status.startswith("⚠") and "not a SQLite" in status
