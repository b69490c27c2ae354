"""With the real tiny model (SmolLM2-135M through llama.cpp) and the real app over REST:
facts the user tells reach the prompt's note of a later, new conversation (the profile),
and the model's JSON-schema constrained fact extraction runs in the background and yields
valid JSON (a grammar, not luck)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from config.settings import CONFIG_DIR
from memory.profile import FACTS_INSTRUCTION, FACTS_SCHEMA
from tests.waits import CATCH_UP_S


def _short_replies(tmp_path: Path) -> Path:
    """The shipped profiles with short greedy replies: the test is about the prompt."""
    shipped = (CONFIG_DIR / "models.toml").read_text(encoding="utf-8")
    profiles = tmp_path / "models.toml"
    profiles.write_text(
        shipped.replace(
            "max_tokens = 256\ntimeout_s = 60", "max_tokens = 24\ntimeout_s = 240"
        ).replace("temperature = 0.7", "temperature = 0.0"),
        encoding="utf-8",
    )
    return profiles


@pytest.mark.slow
def test_told_facts_reach_the_prompt_of_a_new_conversation(
    make_settings: Any, tmp_path: Path
) -> None:
    log = tmp_path / "prompts.jsonl"
    settings = make_settings(
        model_profiles_file=_short_replies(tmp_path),
        debug_prompt_log=log,
        user_display_name="Alexey",
    )
    app = create_app(settings)
    services = app.state.services
    services.soul.clock = lambda: 1_764_000_000.0  # no "silent" pause instead of a reply
    with TestClient(app) as client:
        told = [
            "Меня зовут Алексей. У меня кот по имени Барсик.",
            "Моя сестра Маша живёт в Казани, а у меня аллергия на арахис.",
            "I have a dog named Rex and I love hiking.",
        ]
        cid = None
        for text in told:
            reply = client.post("/api/chat", json={"message": text, "conversation_id": cid})
            assert reply.status_code == 200, reply.text
            cid = reply.json()["conversation_id"]
        assert services.memory.profile.wait_idle(CATCH_UP_S)
        facts = client.get("/api/memory/profile").json()["items"]
        texts = " | ".join(f["text"] for f in facts)
        for fact in ("Алексей", "Барсик", "Маша", "Казани", "арахис", "Rex", "hiking"):
            assert fact in texts, texts

        asked = client.post("/api/chat", json={"message": "What is my cat's name?"})
        assert asked.status_code == 200, asked.text
        assert asked.json()["conversation_id"] != cid
    prompts = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    last = prompts[-1]
    # (the log keeps each message's cache hint beside role and content)
    assert (last[-1]["role"], last[-1]["content"]) == ("user", "What is my cat's name?")
    note = last[-2]
    assert note["role"] == "system"
    for fact in ("Барсик", "Алексей", "арахис", "Rex"):
        assert fact in note["content"], note["content"]
    # the model was asked for facts (JSON-schema constrained) after the turns it could read
    status = services.memory.profile.status()
    assert status.model_runs >= 1, status


@pytest.mark.slow
def test_the_model_answers_the_fact_schema_with_valid_json(make_settings: Any) -> None:
    from app.composition import build_services
    from app.services.summarizer import FactAsker

    services = build_services(make_settings())
    try:
        services.models.backend().load()
        raw = FactAsker(services.models)(
            FACTS_INSTRUCTION, "My name is Anna and my cat is called Luna.", FACTS_SCHEMA
        )
        doc = json.loads(raw)  # a grammar: always parseable, whatever the tiny model thinks
        assert isinstance(doc["facts"], list)
        for fact in doc["facts"]:
            assert set(fact) == {"kind", "subject", "text"}
    finally:
        services.close()
