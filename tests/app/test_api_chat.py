"""Contract tests for the chat REST API, on the real tiny model."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.composition import Services
from app.factory import create_app
from config.settings import Settings


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as c:
        yield c


def test_health_reports_components(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] in ("ok", "degraded")
    assert body["components"]["db"]["state"] == "ok"
    llm = body["components"]["llm"]
    assert llm["backend"] == "llama.cpp" and llm["model"] == "smollm2-135m"
    assert isinstance(llm["loaded"], bool)


def test_chat_with_the_real_model_and_history(client: TestClient) -> None:
    first = client.post("/api/chat", json={"message": "Hello, who are you?"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["reply"].strip()
    assert body["conversation_id"] and body["message_id"]
    assert body["usage"]["completion_tokens"] > 0

    second = client.post(
        "/api/chat",
        json={"message": "And what can you do?", "conversation_id": body["conversation_id"]},
    )
    assert second.status_code == 200
    assert second.json()["conversation_id"] == body["conversation_id"]

    convs = client.get("/api/conversations").json()["items"]
    assert [c["id"] for c in convs] == [body["conversation_id"]]
    msgs = client.get(f"/api/conversations/{body['conversation_id']}/messages").json()["items"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[1]["id"] == body["message_id"]
    assert msgs[1]["model"] == "smollm2-135m"
    assert all(m["created_at"] > 0 for m in msgs)


def test_chat_streams_server_sent_events(client: TestClient) -> None:
    with client.stream(
        "POST", "/api/chat", json={"message": "Count to three", "stream": True}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1].removeprefix("data: ")),
        )
        for block in raw.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[0] == "started" and names[-1] == "done"
    assert names.count("token") >= 1
    streamed = "".join(data["text"] for name, data in events if name == "token")
    done = events[-1][1]
    # the stream shows the reply as it grows; media markers are never streamed raw
    assert "SPEAK!" not in streamed and "IMAGE!" not in streamed
    assert streamed.strip() == done["reply"].strip() or done["media"]
    assert events[-1][1]["message_id"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"message": ""}, 400, "empty_message"),
        ({"message": "   \n "}, 400, "empty_message"),
        ({"message": "x" * 10_001}, 413, "message_too_long"),
        ({"message": "hi", "conversation_id": "does-not-exist"}, 404, "conversation_not_found"),
        ({"message": 42}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
        ({"message": "hi", "user_id": "../../etc"}, 422, None),
    ],
)
def test_bad_chat_input_gets_a_clear_error(
    make_settings,
    payload: dict,
    status: int,
    code: str | None,  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(max_message_chars=10_000)
    with TestClient(create_app(settings)) as c:
        r = c.post("/api/chat", json=payload)
        assert r.status_code == status
        body = r.json()
        assert "message" in body
        if code:
            assert body["error"] == code
            assert body["messages"]["ru"] and body["messages"]["en"]
        assert c.get("/api/conversations").json()["items"] == []  # nothing stored


def test_invalid_json_body(client: TestClient) -> None:
    r = client.post("/api/chat", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"


def test_conversations_are_per_user(client: TestClient) -> None:
    a = client.post("/api/chat", json={"message": "I am Alice", "user_id": "alice"}).json()
    assert client.get("/api/conversations", params={"user_id": "bob"}).json()["items"] == []
    r = client.get(f"/api/conversations/{a['conversation_id']}/messages", params={"user_id": "bob"})
    assert r.status_code == 404
    r = client.post(
        "/api/chat",
        json={"message": "hi", "user_id": "bob", "conversation_id": a["conversation_id"]},
    )
    assert r.status_code == 404
    mine = client.get("/api/conversations", params={"user_id": "alice"}).json()["items"]
    assert len(mine) == 1


def test_unknown_conversation_messages_404(client: TestClient) -> None:
    r = client.get("/api/conversations/nope/messages")
    assert r.status_code == 404
    assert r.json()["error"] == "conversation_not_found"


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/chat",
        "/api/conversations",
        "/api/conversations/{conversation_id}/messages",
        "/health",
    ):
        assert path in paths
    assert "ChatRequest" in json.dumps(spec)
