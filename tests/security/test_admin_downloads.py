"""Item 15: admin backups and user exports never sit in gradio's folder.

They used to be handed to a gr.File, which copies them into gradio's cache (world-readable,
fetchable by path without the admin token) and never deletes them. Now the tab offers a
one-time link that streams the file and deletes it; the files are 0600 in a 0700 folder.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient

from app.ui.admin_tab import AdminTab
from app.ui.labels import Labels
from app.ui.uploads import upload_folder
from tests.security.conftest import ADMIN_TOKEN, Accounts

LINK = "(downloads/"


def _request(host: str = "testclient") -> Any:
    return SimpleNamespace(headers={}, query_params={}, client=SimpleNamespace(host=host))


def _link(status: str) -> str:
    start = status.index(LINK) + 1
    end = status.index(")", start)
    return "/" + status[start:end]  # the page is at /: the relative link resolves here


def _private(path: Path) -> bool:
    return (
        stat.S_IMODE(path.stat().st_mode) == 0o600
        and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    )


def test_a_tab_backup_is_a_one_time_private_link(accounts: Accounts) -> None:
    services, client = accounts.services, accounts.client
    tab = AdminTab(services, Labels(), None)  # type: ignore[arg-type]
    before = set(upload_folder().rglob("*")) if upload_folder().exists() else set()
    status, shown = asyncio.run(tab.on_backup(ADMIN_TOKEN, {"lang": "en"}, _request()))
    assert status.startswith("✓"), status
    # nothing for gradio to copy into its folder: the output is a link, not a file
    assert not (isinstance(shown, str) and Path(shown).exists())
    offered = list(services.admin.backups_dir.glob("ikar-backup-*.sqlite3"))
    assert len(offered) == 1 and _private(offered[0])

    link = _link(status)
    other = TestClient(client.app, client=("10.0.0.99", 1234))
    assert other.get(link).status_code == 404  # the link is for the admin's own address
    response = client.get(link)
    assert response.status_code == 200
    assert response.content.startswith(b"SQLite format 3\x00")
    assert "ikar-backup-" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    assert not offered[0].exists()  # deleted once sent
    assert client.get(link).status_code == 404  # one time only
    after = set(upload_folder().rglob("*")) if upload_folder().exists() else set()
    assert not [p for p in after - before if p.suffix == ".sqlite3"]


def test_a_tab_user_export_is_a_one_time_private_link(accounts: Accounts) -> None:
    services, client = accounts.services, accounts.client
    tab = AdminTab(services, Labels(), None)  # type: ignore[arg-type]
    alice = accounts.ids["alice"]
    status, shown = asyncio.run(tab.on_export(ADMIN_TOKEN, {"lang": "en"}, alice, _request()))
    assert not (isinstance(shown, str) and Path(shown).exists())
    exports = [p for p in services.admin.private_dir.rglob("*.json")]
    assert len(exports) == 1 and _private(exports[0])
    response = client.get(_link(status))
    assert response.status_code == 200 and response.json()["user"]["id"] == alice
    assert not exports[0].exists()


def test_an_unclaimed_link_expires_and_its_file_goes(accounts: Accounts) -> None:
    services = accounts.services
    downloads = services.admin.downloads
    clock = [1000.0]
    downloads.clock = lambda: clock[0]
    tab = AdminTab(services, Labels(), None)  # type: ignore[arg-type]
    status, _ = asyncio.run(tab.on_backup(ADMIN_TOKEN, {"lang": "en"}, _request()))
    offered = next(services.admin.backups_dir.glob("ikar-backup-*.sqlite3"))
    clock[0] += downloads.ttl_s + 1
    assert accounts.client.get(_link(status)).status_code == 404
    assert not offered.exists()


def test_rest_backups_are_private_and_removed_after_download(
    accounts: Accounts, tmp_path: Path
) -> None:
    services = accounts.services
    path = services.admin.create_backup()
    assert _private(path)
    path.unlink()
    response = accounts.client.get("/api/admin/backup", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert response.status_code == 200
    assert list(services.admin.backups_dir.glob("ikar-backup-*.sqlite3")) == []
    copy = tmp_path / "downloaded.sqlite3"
    copy.write_bytes(response.content)
    db = sqlite3.connect(copy)  # a real database came back
    try:
        assert db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 2
    finally:
        db.close()
