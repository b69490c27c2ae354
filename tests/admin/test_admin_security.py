"""The admin surface is closed without a token, refuses wrong tokens, locks out guessers,
and never writes the token into a log."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.ui.admin_tab import AdminTab
from app.ui.labels import Labels
from tests.admin.conftest import TOKEN, AdminApp, fake_request, seed_user

ADMIN_ROUTES: list[tuple[str, str]] = [
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/users/someone/export"),
    ("DELETE", "/api/admin/users/someone"),
    ("GET", "/api/admin/prompts"),
    ("GET", "/api/admin/prompts/system.en.j2"),
    ("PUT", "/api/admin/prompts/system.en.j2"),
    ("GET", "/api/admin/persona"),
    ("GET", "/api/admin/models"),
    ("POST", "/api/admin/models/smollm2-135m/load"),
    ("POST", "/api/admin/models/smollm2-135m/unload"),
    ("POST", "/api/admin/models/smollm2-135m/default"),
    ("GET", "/api/admin/queues"),
    ("GET", "/api/admin/consolidation"),
    ("POST", "/api/admin/consolidation"),
    ("GET", "/api/admin/metrics"),
    ("GET", "/api/admin/logs"),
    ("GET", "/api/admin/backup"),
    ("POST", "/api/admin/restore"),
    ("GET", "/api/admin/config"),
]


def _call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    return client.request(method, path, **kwargs)


def test_without_token_every_admin_route_is_disabled_never_open(make_settings: Any) -> None:
    app = AdminApp(make_settings())
    try:
        assert not app.services.admin_gate.enabled
        for method, path in ADMIN_ROUTES:
            for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}, {"X-Admin-Token": TOKEN}):
                r = _call(app.client, method, path, headers=headers)
                assert r.status_code == 403, (method, path, r.text)
                assert r.json()["error"] == "admin_disabled"
        # the unguarded model route was not touched: nothing loaded
        assert not app.services.models.backend().status().loaded
    finally:
        app.close()


def test_without_token_the_tab_callbacks_refuse(make_settings: Any) -> None:
    app = AdminApp(make_settings())
    try:
        seed_user(app.services, "secret-user")
        tab = AdminTab(app.services, Labels(), None)  # type: ignore[arg-type]
        session = {"lang": "en"}
        status, users = asyncio.run(tab.on_users(TOKEN, session, fake_request()))
        assert "IKAR_ADMIN_TOKEN" in status and "disabled" in status
        assert not hasattr(users, "to_dict")  # a gr.skip(), not the users table
        status, *_ = asyncio.run(tab.on_backup(TOKEN, session, fake_request()))
        assert "disabled" in status
        assert not list(app.services.admin.backups_dir.glob("*.sqlite3"))
        status_ru, _ = asyncio.run(tab.on_config("", {"lang": "ru"}, fake_request()))
        assert "IKAR_ADMIN_TOKEN" in status_ru and "отключена" in status_ru
    finally:
        app.close()


def test_header_bearer_and_query_forms_are_accepted(admin_app: AdminApp) -> None:
    c = admin_app.client
    assert (
        c.get("/api/admin/users", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    )
    assert c.get("/api/admin/users", headers={"X-Admin-Token": TOKEN}).status_code == 200
    assert c.get("/api/admin/users", params={"token": TOKEN}).status_code == 200
    assert (
        c.get("/api/admin/users", headers={"authorization": f"bearer {TOKEN}"}).status_code == 200
    )


@pytest.mark.parametrize(
    "presented",
    [
        TOKEN[:-1],
        TOKEN + "x",
        TOKEN.upper(),
        TOKEN.lower(),
        TOKEN[:-1] + chr(ord(TOKEN[-1]) + 1),
        TOKEN[1:],
        "x" * len(TOKEN),
        TOKEN + TOKEN,
        TOKEN.replace("-", "_"),
    ],
)
def test_near_miss_tokens_are_refused_in_every_form(admin_app: AdminApp, presented: str) -> None:
    c = admin_app.client
    for kwargs in (
        {"headers": {"Authorization": f"Bearer {presented}"}},
        {"headers": {"X-Admin-Token": presented}},
        {"params": {"token": presented}},
    ):
        r = c.get("/api/admin/users", **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 401, (presented, kwargs)
        assert r.json()["error"] == "admin_unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in r.text


def test_missing_and_empty_tokens_are_refused(admin_app: AdminApp) -> None:
    c = admin_app.client
    for kwargs in (
        {},
        {"headers": {"X-Admin-Token": ""}},
        {"params": {"token": ""}},
        {"headers": {"Authorization": "Bearer "}},
        {"headers": {"Authorization": f"Basic {TOKEN}"}},
        {"headers": {"Authorization": TOKEN}},
    ):
        r = c.get("/api/admin/config", **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 401, kwargs
        assert r.json()["error"] == "admin_unauthorized"


def test_repeated_failures_lock_the_client_out_even_with_the_right_token(
    make_settings: Any, prompts_dir: Any
) -> None:
    app = AdminApp(make_settings(admin_token=TOKEN, admin_lockout_after=3, admin_lockout_s=600))
    try:
        c = app.client
        for _ in range(3):
            assert c.get("/api/admin/users", params={"token": "wrong-guess"}).status_code == 401
        r = c.get("/api/admin/users", headers={"X-Admin-Token": TOKEN})
        assert r.status_code == 429
        assert r.json()["error"] == "admin_locked_out"
        assert int(r.headers["retry-after"]) > 0
        # the same gate guards the tab: a locked-out client is refused there too
        tab = AdminTab(app.services, Labels(), None)  # type: ignore[arg-type]
        assert "locked" in (tab.refusal(TOKEN, fake_request("testclient"), "en") or "")
        # another client is not affected
        assert tab.refusal(TOKEN, fake_request("10.9.9.9"), "en") is None
    finally:
        app.close()


def test_tab_callbacks_check_the_typed_token(admin_app: AdminApp) -> None:
    seed_user(admin_app.services, "tab-user")
    tab = AdminTab(admin_app.services, Labels(), None)  # type: ignore[arg-type]
    session = {"lang": "en"}
    status, users = asyncio.run(tab.on_users(TOKEN[:-1], session, fake_request()))
    assert status.startswith("✕") and "wrong" in status
    status, users = asyncio.run(tab.on_users("", session, fake_request()))
    assert status.startswith("✕")
    status, users = asyncio.run(tab.on_users(TOKEN, session, fake_request()))
    assert not status.startswith("✕")
    assert "tab-user" in list(users["ID"])  # headers in the UI language


def test_the_token_never_reaches_logs_or_responses(
    admin_settings: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    app = AdminApp(admin_settings)
    try:
        services = app.services
        seed_user(services, "log-user")
        c = app.client
        bodies: list[str] = []
        for method, path in ADMIN_ROUTES:
            if path.endswith(("/load", "/restore", "/backup")) or method in ("PUT", "DELETE"):
                continue
            for kwargs in (
                {"headers": {"Authorization": f"Bearer {TOKEN}"}},
                {"headers": {"X-Admin-Token": TOKEN}},
                {"params": {"token": TOKEN}},
            ):
                body = {"action": "status"} if method == "POST" else None
                r = c.request(method, path, json=body, **kwargs)  # type: ignore[arg-type]
                assert r.status_code in (200, 404), (method, path, r.text)
                bodies.append(r.text)
        # actions that log: a backup (bearer), a user deletion (query token)
        backup = c.get("/api/admin/backup", headers={"Authorization": f"Bearer {TOKEN}"})
        assert backup.status_code == 200 and backup.content.startswith(b"SQLite format 3")
        assert c.delete("/api/admin/users/log-user", params={"token": TOKEN}).status_code == 200
        # a failing login with a near-miss token, and an unhandled-path 404 carrying the token
        assert c.get("/api/admin/users", params={"token": TOKEN + "!"}).status_code == 401
        c.get(f"/api/nowhere?token={TOKEN}", headers={"X-Admin-Token": TOKEN})
        config = c.get("/api/admin/config", headers={"X-Admin-Token": TOKEN}).json()
        assert config["settings"]["admin_token"] == "***"

        # Everything the server logged while handling those requests, raw (caplog sees
        # records before the app's redacting handlers). The test's HTTP client logs the
        # URLs it requests; it is not the server.
        server_records = [r for r in caplog.records if not r.name.startswith("httpx")]
        assert {"database backup written", "admin deleted a user"} <= {
            r.getMessage() for r in server_records
        }
        server_lines = "\n".join(caplog.handler.format(r) for r in server_records)
        # Lines that mention credentials the way careless code might: the app's handlers
        # (stderr JSON and the admin log buffer) must mask them.
        logging.getLogger("app.test").warning("request with token=%s and Bearer %s", TOKEN, TOKEN)
        logging.getLogger("app.test").info("headers", extra={"x_admin_token": TOKEN})
        near_miss = TOKEN[:-1]
        buffered = "\n".join(e.model_dump_json() for e in services.log_buffer.tail(2000))
        assert "request with token=" in buffered  # the line is there, the secret is not
        captured = capfd.readouterr()
        for text in (server_lines, buffered, captured.err, captured.out, *bodies):
            assert TOKEN not in text
            assert near_miss not in text
    finally:
        app.close()
