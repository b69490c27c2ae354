"""Users, models, jobs, memory, metrics, logs and config through the admin routes."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from app.services.admin import AdminService
from app.services.user_data import UserDataRegistry
from app.ui.admin_tab import metric_frames
from tests.admin.conftest import TOKEN, AdminApp, seed_user


def test_users_are_listed_with_their_counts(admin_app: AdminApp, auth: dict[str, str]) -> None:
    seed_user(admin_app.services, "alice", messages=4, name="Alice")
    seed_user(admin_app.services, "bob", messages=1)
    admin_app.services.soul.get_state("alice", "ikar-ikarych")
    items = admin_app.client.get("/api/admin/users", headers=auth).json()["items"]
    by_id = {u["id"]: u for u in items}
    assert by_id["alice"]["name"] == "Alice"
    assert (by_id["alice"]["conversations"], by_id["alice"]["messages"]) == (1, 4)
    assert by_id["alice"]["souls"] == 2 and by_id["bob"]["souls"] == 1
    assert by_id["bob"]["messages"] == 1
    assert by_id["alice"]["memories"] == 0  # this build has memory: counted, not None
    assert "password_hash" not in json.dumps(items)


def test_export_one_user(admin_app: AdminApp, auth: dict[str, str]) -> None:
    services = admin_app.services
    conv = seed_user(services, "alice", messages=3)
    seed_user(services, "bob", messages=2)
    services.auth.set_password("alice", "correct horse battery")
    services.auth.issue_api_token("alice")
    r = admin_app.client.get("/api/admin/users/alice/export", headers=auth)
    assert r.status_code == 200
    doc = r.json()
    assert doc["format"] == "ikar.user-export" and doc["user"]["id"] == "alice"
    assert [c["id"] for c in doc["conversations"]] == [conv]
    texts = [m["content"] for m in doc["conversations"][0]["messages"]]
    assert texts == ["alice message 0", "alice message 1", "alice message 2"]
    assert [s["persona_id"] for s in doc["soul"]] == ["chatumba"]
    assert "happiness" in json.dumps(doc["soul"][0]["state"])
    assert doc["memories"] == []
    assert "bob" not in r.text
    assert "password_hash" not in r.text and "api_token_hash" not in r.text
    assert "$2" not in r.text  # no bcrypt hash
    missing = admin_app.client.get("/api/admin/users/nobody/export", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"] == "user_not_found"


def test_delete_one_user_and_only_that_user(admin_app: AdminApp, auth: dict[str, str]) -> None:
    services = admin_app.services
    seed_user(services, "alice", messages=3)
    seed_user(services, "bob", messages=2)
    r = admin_app.client.delete("/api/admin/users/alice", headers=auth)
    assert r.status_code == 200, r.text
    counts = r.json()["counts"]
    assert counts["conversations"] == 1 and counts["messages"] == 3
    with services.db.connect() as conn:
        left = {
            table: conn.execute(f"SELECT COUNT(*) FROM {table} WHERE user_id = 'alice'").fetchone()[
                0
            ]
            for table in ("conversations", "messages", "soul_state", "soul_history")
        }
        bob = conn.execute("SELECT COUNT(*) FROM messages WHERE user_id = 'bob'").fetchone()[0]
    assert left == {"conversations": 0, "messages": 0, "soul_state": 0, "soul_history": 0}
    assert bob == 2
    assert [u.id for u in services.users.list()] == ["bob"]
    again = admin_app.client.delete("/api/admin/users/alice", headers=auth)
    assert again.status_code == 404


def test_models_list_unload_and_default(admin_app: AdminApp, auth: dict[str, str]) -> None:
    c = admin_app.client
    body = c.get("/api/admin/models", headers=auth).json()
    assert body["active"] == "smollm2-135m"
    names = {m["name"]: m for m in body["items"]}
    assert names["smollm2-135m"]["active"] and names["smollm2-135m"]["state"] == "unloaded"
    assert len(names) >= 2
    other = next(n for n in names if n != "smollm2-135m")
    r = c.post(f"/api/admin/models/{other}/default", headers=auth)
    assert r.status_code == 200 and r.json()["active"]
    assert admin_app.services.models.active_name == other
    assert admin_app.services.admin.persisted()["default_model"] == {
        "value": other,
        "replaced": "smollm2-135m",
    }
    r = c.post("/api/admin/models/smollm2-135m/unload", headers=auth)
    assert r.status_code == 200 and r.json()["loaded"] is False
    for action in ("load", "unload", "default"):
        r = c.post(f"/api/admin/models/no-such-model/{action}", headers=auth)
        assert r.status_code == 404 and r.json()["error"] == "model_not_found"


def test_metrics_summary_and_plot_data(admin_app: AdminApp, auth: dict[str, str]) -> None:
    metrics = admin_app.services.metrics
    metrics.observe_llm("ok", latency_s=1.5, ttft_s=0.2, completion_tokens=30)
    metrics.observe_llm("error")
    summary = admin_app.client.get("/api/admin/metrics", headers=auth).json()
    assert summary["llm"]["requests"]["ok"] == 1 and summary["llm"]["requests"]["error"] == 1
    outcomes, latency = metric_frames(summary)
    assert dict(zip(outcomes["outcome"], outcomes["count"], strict=True))["ok"] == 1
    p50 = latency.set_index("metric").loc["LLM p50", "seconds"]
    assert 1.0 <= p50 <= 2.0


def test_log_tail_filters(admin_app: AdminApp, auth: dict[str, str]) -> None:
    logging.getLogger("app.admintest").info("marker-one info line")
    logging.getLogger("app.admintest.child").warning("marker-two warning line")
    logging.getLogger("other").warning("marker-three elsewhere")
    c = admin_app.client

    def messages(**params: Any) -> list[str]:
        r = c.get("/api/admin/logs", headers=auth, params=params)
        assert r.status_code == 200, r.text
        return [e["message"] for e in r.json()["items"]]

    assert {"marker-one info line", "marker-two warning line"} <= set(messages(text="marker"))
    assert messages(text="marker", level="WARNING", logger="app.admintest") == [
        "marker-two warning line"
    ]
    # (the test's HTTP client logs each URL, filter words included: scope by logger)
    assert messages(text="MARKER-THREE", logger="other") == ["marker-three elsewhere"]
    assert messages(text="marker", logger="app.admintest", limit=1) == ["marker-two warning line"]
    assert messages(request_id="no-such-request") == []
    r = c.get("/api/admin/logs", headers=auth, params={"level": "LOUD"})
    assert r.status_code == 400 and r.json()["error"] == "bad_level"


def test_config_is_shown_with_secrets_masked(admin_app: AdminApp, auth: dict[str, str]) -> None:
    r = admin_app.client.get("/api/admin/config", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["settings"]["admin_token"] == "***"
    assert body["settings"]["default_model"] == "smollm2-135m"
    assert body["runtime"]["active_model"] == "smollm2-135m"
    assert TOKEN not in r.text


def test_queues_and_consolidation_when_present(admin_app: AdminApp, auth: dict[str, str]) -> None:
    c = admin_app.client
    queues = c.get("/api/admin/queues", headers=auth)
    assert queues.status_code == 200
    assert queues.json()["jobs"] == [] and "tts" in queues.json()["stats"]
    cancel = c.post("/api/admin/queues/nope/cancel", headers=auth)
    assert cancel.status_code == 200 and cancel.json()["cancelled"] is False
    status = c.get("/api/admin/consolidation", headers=auth)
    assert status.status_code == 200 and "status" in status.json()
    bad = c.post("/api/admin/consolidation", headers=auth, json={"action": "explode"})
    assert bad.status_code == 422


def test_without_memory_and_media_the_admin_degrades_gracefully(
    admin_app: AdminApp, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = admin_app.services
    # A build without memory and media: neither is registered as a data owner nor handed
    # to the admin service.
    registry = UserDataRegistry(services.db)
    registry.register("account", services.users)
    registry.register("chat", services.chat)
    registry.register("soul", services.soul)
    admin = AdminService(
        services.db,
        services.settings,
        user_data=registry,
        defaults=services.defaults,
        soul=services.soul,
        models=services.models,
        metrics=services.metrics,
        log_buffer=services.log_buffer,
    )
    monkeypatch.setattr(services, "admin", admin)
    seed_user(services, "alice", messages=2)
    c = admin_app.client
    users = c.get("/api/admin/users", headers=auth).json()["items"]
    assert users[0]["memories"] is None
    assert "memories" not in c.get("/api/admin/users/alice/export", headers=auth).json()
    for method, path, body in (
        ("GET", "/api/admin/queues", None),
        ("POST", "/api/admin/queues/x/cancel", None),
        ("GET", "/api/admin/consolidation", None),
        ("POST", "/api/admin/consolidation", {"action": "start"}),
    ):
        r = c.request(method, path, headers=auth, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"] in ("media_unavailable", "memory_unavailable")
    assert c.delete("/api/admin/users/alice", headers=auth).status_code == 200
    assert c.get("/api/admin/config", headers=auth).json()["runtime"]["memory"] is False
