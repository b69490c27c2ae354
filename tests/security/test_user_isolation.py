"""With accounts configured, one user trying every route with another user's ids gets
403/404; file routes refuse traversal; oversized bodies and uploads are refused."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.composition import Services, build_services
from app.factory import create_app
from config.settings import Settings
from tests.app.fakes import ScriptedBackend, use_scripted
from tests.waits import CATCH_UP_S


@pytest.fixture
def two_users(make_settings) -> Iterator[tuple[TestClient, dict[str, str], dict[str, Any]]]:  # type: ignore[no-untyped-def]
    settings: Settings = make_settings(max_body_bytes=64 * 1024, max_upload_bytes=32 * 1024)
    services: Services = build_services(settings)
    use_scripted(services, ScriptedBackend(words=["Noted. ", 'SPEAK!{"text": "Noted."}']))
    tokens = {}
    for name in ("alice", "bob"):
        uid = services.auth.create_user(name, f"{name}-password-123")
        tokens[name] = services.auth.issue_api_token(uid)
    app = create_app(settings, services)
    with TestClient(app) as client:
        alice = {"Authorization": f"Bearer {tokens['alice']}"}
        chat = client.post("/api/chat", json={"message": "My secret is 42"}, headers=alice).json()
        memory = client.post("/api/memory", json={"text": "alice likes tea"}, headers=alice).json()
        client.post(
            "/api/soul/actions",
            headers=alice,
            json={"persona": "chatumba", "action": {"kind": "raise_autonomy", "amount": 0.5}},
        )
        assert services.memory.wait_until_indexed(CATCH_UP_S)
        alice_id = _user_id(services, "alice")
        ids = {
            "conversation": chat["conversation_id"],
            "memory": memory["id"],
            "artifact": chat["media"][0]["key"],
            "alice_id": alice_id,
            "alice_soul": services.soul.get_state(alice_id, "chatumba").autonomy,
        }
        yield client, tokens, ids
    services.close()


def _user_id(services: Services, name: str) -> str:
    return next(u.id for u in services.users.list() if u.name == name)


def test_requests_without_a_token_are_refused(two_users) -> None:  # type: ignore[no-untyped-def]
    client, _, ids = two_users
    for method, url in [
        ("GET", "/api/conversations"),
        ("GET", f"/api/conversations/{ids['conversation']}/messages"),
        ("POST", "/api/memory/search"),
        ("GET", f"/api/memory/{ids['memory']}"),
        ("GET", "/api/soul?persona=chatumba"),
    ]:
        r = client.request(method, url, json={"query": "tea"} if method == "POST" else None)
        assert r.status_code == 401, (method, url, r.status_code)
    r = client.post("/api/chat", json={"message": "hi"}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_bob_cannot_reach_alices_data_through_any_route(two_users) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = two_users
    bob = {"Authorization": f"Bearer {tokens['bob']}"}
    conv, mem, art = ids["conversation"], ids["memory"], ids["artifact"]
    attempts = [
        ("GET", f"/api/conversations/{conv}/messages", None),
        ("GET", f"/api/conversations/{conv}/export?format=json", None),
        ("POST", "/api/chat", {"message": "hi", "conversation_id": conv}),
        ("GET", f"/api/memory/{mem}", None),
        ("PUT", f"/api/memory/{mem}", {"text": "bob was here"}),
        ("DELETE", f"/api/memory/{mem}", None),
        ("GET", f"/api/artifacts/{art}", None),
    ]
    for method, url, body in attempts:
        r = client.request(method, url, json=body, headers=bob)
        assert r.status_code in (403, 404), (method, url, r.status_code)
    # claiming alice's identity explicitly is refused
    for method, url, body in [
        ("GET", "/api/conversations?user_id=alice", None),
        ("POST", "/api/memory/search", {"query": "tea", "user_id": "alice"}),
        ("POST", "/api/chat", {"message": "hi", "user_id": "alice"}),
        ("GET", "/api/soul?persona=chatumba&user_id=alice", None),
    ]:
        alice_id = ids["alice_id"]
        if body and "user_id" in body:
            body = {**body, "user_id": alice_id}
        r = client.request(method, url.replace("alice", alice_id), json=body, headers=bob)
        assert r.status_code in (403, 404), (method, url, r.status_code)
    # bob's own views are empty of alice's data
    assert client.get("/api/conversations", headers=bob).json()["items"] == []
    hits = client.post("/api/memory/search", json={"query": "tea secret 42"}, headers=bob).json()
    assert hits["items"] == []
    bob_soul = client.get("/api/soul?persona=chatumba", headers=bob).json()["state"]
    assert bob_soul["autonomy"] < ids["alice_soul"]
    # and alice still has everything
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    assert client.get(f"/api/memory/{mem}", headers=alice).json()["text"] == "alice likes tea"
    assert client.get(f"/api/artifacts/{art}", headers=alice).status_code == 200


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "%252e%252e%252fetc",
        "..\\\\..\\\\x",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "AAAA/../../x",
        "." * 64,
        "0" * 63 + "/",
    ],
)
def test_artifact_route_refuses_traversal(two_users, key: str) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = two_users
    r = client.get(f"/api/artifacts/{key}", headers={"Authorization": f"Bearer {tokens['alice']}"})
    assert r.status_code in (400, 404, 422)
    assert b"root:" not in r.content


def test_oversized_bodies_and_uploads_are_refused(two_users) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = two_users
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    big = json.dumps({"message": "x" * 200_000})
    as_json = {**alice, "content-type": "application/json"}
    r = client.post("/api/chat", content=big, headers=as_json)
    assert r.status_code == 413
    r = client.post(
        "/api/ocr",
        files={"file": ("big.png", b"\x89PNG" + b"0" * 40_000, "image/png")},
        headers=alice,
    )
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(100):
            yield b"y" * 4096

    r = client.post("/api/chat", content=chunks(), headers=as_json)
    assert r.status_code == 413


def test_rate_limit_on_chat(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings: Settings = make_settings(chat_rate_per_min=2)
    services = build_services(settings)
    use_scripted(services, ScriptedBackend(words=["ok"]))
    with TestClient(create_app(settings, services)) as client:
        codes = [client.post("/api/chat", json={"message": "hi"}).status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and 429 in codes[2:]
