"""`python -m app.manage`: add a user, issue a token, and that token works over REST."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.factory import create_app

ROOT = Path(__file__).resolve().parents[2]


def manage(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IKAR_")}
    env["IKAR_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "app.manage", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_cli_user_and_token_authenticate_a_rest_call(make_settings: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "cli-data"
    added = manage(data_dir, "add-user", "Alice", stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    assert "created user Alice" in added.stdout
    assert "correct horse" not in added.stdout + added.stderr

    duplicate = manage(data_dir, "add-user", "alice", stdin="another password\n")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    short = manage(data_dir, "add-user", "Bob", stdin="short\n")
    assert short.returncode == 1 and "8+" in short.stderr

    issued = manage(data_dir, "issue-token", "ALICE")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert len(token) >= 32 and "\n" not in token
    assert manage(data_dir, "issue-token", "nobody").returncode == 1

    listed = manage(data_dir, "list-users")
    assert listed.returncode == 0 and "\tAlice" in listed.stdout and "Bob" not in listed.stdout
    alice_id = listed.stdout.split("\t")[0]

    settings = make_settings(data_dir=data_dir)
    app = create_app(settings)
    services = app.state.services
    try:
        client = TestClient(app)
        assert services.auth.users_configured()  # the CLI user switched the app to accounts
        ok = client.get("/api/conversations", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        # acting as someone else with Alice's token is refused
        other = client.get(
            "/api/conversations",
            params={"user_id": "someone-else"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert other.status_code == 403
        assert client.get("/api/conversations").status_code == 401
        wrong = client.get("/api/conversations", headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401
        assert services.auth.user_for_api_token(token) == alice_id
        assert services.auth.authenticate_password("alice", "correct horse battery") == alice_id

        # a re-issued token replaces the old one
        rotated = manage(data_dir, "issue-token", "Alice").stdout.strip()
        assert rotated != token
        old = client.get("/api/conversations", headers={"Authorization": f"Bearer {token}"})
        assert old.status_code == 401
        new = client.get("/api/conversations", headers={"Authorization": f"Bearer {rotated}"})
        assert new.status_code == 200
    finally:
        services.close()
