"""Exports: Markdown to read, IKAR JSON and SillyTavern JSONL that import back unchanged."""

from __future__ import annotations

import json

from memory import (
    ExportConversation,
    ExportMessage,
    NewMemory,
    parse_conversation,
    render_conversation,
)

MESSAGES = [
    {"id": "m1", "role": "user", "content": "Привет, как дела?", "created_at": 1700000000.0},
    ExportMessage(id="m2", role="assistant", content="Hello!\nAll good.", created_at=1700000060.5),
]
CONV = ExportConversation(id="c1", title="Вечер", user_name="Ivan", character_name="Luna")


def test_markdown_has_title_authors_and_times() -> None:
    md = render_conversation(MESSAGES, "md", CONV)
    assert md.startswith("# Вечер\n")
    assert "**Ivan** · 2023-11-14 22:13 UTC" in md and "**Luna**" in md
    assert "Hello!\nAll good." in md


def test_json_roundtrips_through_the_ikar_parser() -> None:
    doc = json.loads(render_conversation(MESSAGES, "json", CONV))
    assert doc["format"] == "ikar.conversation" and doc["version"] == 1
    conv = parse_conversation(json.dumps(doc).encode())
    assert [(m.role, m.content, m.created_at) for m in conv.messages] == [
        ("user", "Привет, как дела?", 1700000000.0),
        ("assistant", "Hello!\nAll good.", 1700000060.5),
    ]
    assert conv.messages[0].source_id == "m1"


def test_jsonl_roundtrips_through_the_sillytavern_parser() -> None:
    text = render_conversation(MESSAGES, "jsonl", CONV)
    lines = [json.loads(x) for x in text.splitlines()]
    assert lines[0]["character_name"] == "Luna" and lines[1]["is_user"] is True
    conv = parse_conversation(text.encode())
    assert conv.source_format == "sillytavern"
    assert [m.created_at for m in conv.messages] == [1700000000.0, 1700000060.5]


def test_memory_export_is_the_users_json(make_service, hash_embedder) -> None:
    svc = make_service(embedder=hash_embedder)
    svc.add_memories([NewMemory(user_id="u", text="факт", kind="fact", pinned=True)])
    svc.add_memories([NewMemory(user_id="other", text="not mine")])
    doc = json.loads(svc.export_memories("u"))
    assert doc["format"] == "ikar.memories" and doc["version"] == 1
    assert [m["text"] for m in doc["memories"]] == ["факт"] and doc["memories"][0]["pinned"]
