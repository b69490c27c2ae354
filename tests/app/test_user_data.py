"""Per-user data: every component answers for its own rows, so deleting a user leaves nothing
of theirs in any table, and the export holds all of it (app/services/user_data.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.composition import Services, build_services
from app.services.user_data import UserDataRegistry
from config.settings import Settings
from memory import NewMemory
from tests.app.fakes import ScriptedBackend, use_scripted

CARD = Path(__file__).resolve().parents[1] / "soul" / "fixtures" / "card_v2.json"
ALICE = "alice-3f9c2a71"
BOB = "bob-8d1e4c55"


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    use_scripted(built, ScriptedBackend(words=["Noted. ", 'SPEAK!{"text": "Noted."}']))
    yield built
    built.close()


def _seed(services: Services, user_id: str) -> dict[str, Any]:
    """A user with conversations, messages, souls and history, memories, an imported persona
    and artifacts (one shared with everyone who heard "Noted.", one only theirs)."""
    done = asyncio.run(services.chat.complete(user_id, "Remember that I like green tea"))
    assert done.type == "done" and done.outcome and done.outcome.media
    shared_key = done.outcome.media[0].key
    persona = services.soul.import_card(CARD.read_bytes(), CARD.name, owner_id=user_id)
    second = asyncio.run(services.chat.complete(user_id, "Hello there", persona_id=persona.id))
    assert second.type == "done"
    services.soul.add_thought(user_id, persona.id, "a quiet thought")
    services.memory.add_memory(NewMemory(user_id=user_id, text=f"{user_id} keeps bees"))
    own = asyncio.run(services.media.tts(f"Only {user_id} hears this.", owner=user_id))
    with services.db.transaction() as conn:  # a consolidation record of their conversation
        conn.execute(
            "INSERT INTO memory_consolidation_windows VALUES (?, 0, NULL, 0)",
            (done.conversation_id,),
        )
    conversations = [c.id for c in services.chat.conversations.list(user_id)]
    messages = [m.id for cid in conversations for m in services.chat.messages.list(user_id, cid)]
    with services.db.connect() as conn:
        memories = [
            int(r[0]) for r in conn.execute("SELECT id FROM memories WHERE user_id = ?", (user_id,))
        ]
    return {
        "conversations": conversations,
        "messages": messages,
        "memories": memories,
        "persona": persona.id,
        "own_artifact": own.key,
        "shared_artifact": shared_key,
    }


def _rows_mentioning(services: Services, needles: list[str]) -> list[str]:
    """Every row, in every table, with a text value containing one of `needles`."""
    hits = []
    with services.db.connect() as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            try:
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            except sqlite3.OperationalError:  # FTS internals that cannot be read directly
                continue
            for row in rows:
                for value in tuple(row):
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "ignore")
                    if isinstance(value, str) and any(n in value for n in needles):
                        hits.append(f"{table}: {value[:80]}")
    return hits


def test_a_deleted_user_leaves_nothing_in_any_table_and_the_export_held_it_all(
    services: Services,
) -> None:
    alice = _seed(services, ALICE)
    bob = _seed(services, BOB)
    alice_ids = [ALICE, *alice["conversations"], *alice["messages"], alice["persona"]]
    alice_ids.append(alice["own_artifact"])
    assert len(alice["conversations"]) == 2 and len(alice["messages"]) == 4
    assert alice["memories"]
    assert _rows_mentioning(services, alice_ids)  # the scan does see them before

    doc = services.admin.export_user(ALICE)
    text = json.dumps(doc, ensure_ascii=False)
    assert doc["user"]["id"] == ALICE
    assert sorted(c["id"] for c in doc["conversations"]) == sorted(alice["conversations"])
    exported_messages = {m["id"] for c in doc["conversations"] for m in c["messages"]}
    assert exported_messages == set(alice["messages"])
    assert sorted(m["id"] for m in doc["memories"]) == sorted(alice["memories"])
    assert {s["persona_id"] for s in doc["soul"]} == {"chatumba", alice["persona"]}
    assert {h["persona_id"] for h in doc["soul_history"]} == {"chatumba", alice["persona"]}
    assert [p["id"] for p in doc["personas"]] == [alice["persona"]]
    assert doc["personas"][0]["card"]["spec"] == "chara_card_v2"
    assert {a["key"] for a in doc["artifacts"]} == {alice["own_artifact"], alice["shared_artifact"]}
    assert BOB not in text and "password_hash" not in text
    own_file = services.media.artifact_path(alice["own_artifact"])
    assert own_file is not None and own_file.is_file()

    counts = services.admin.delete_user(ALICE)
    assert counts["conversations"] == 2 and counts["memories"] == len(alice["memories"])
    assert counts["personas"] == 1 and counts["artifacts"] == 2 and counts["souls"] == 2

    assert _rows_mentioning(services, alice_ids) == []
    with services.db.connect() as conn:
        marks = ",".join("?" * len(alice["memories"]))
        left = conn.execute(
            f"SELECT COUNT(*) FROM memories WHERE id IN ({marks})", alice["memories"]
        )
        assert left.fetchone()[0] == 0
    assert not own_file.exists()  # only alice owned it: the file went with her
    assert services.media.artifact_path(alice["shared_artifact"]) is not None  # bob's too
    assert services.user_data.unclaimed_tables() == []
    with pytest.raises(Exception, match="user_not_found"):
        services.admin.export_user(ALICE)

    # bob keeps everything
    bob_counts = services.user_data.count(BOB)
    assert bob_counts["conversations"] == 2 and bob_counts["messages"] == len(bob["messages"])
    assert bob_counts["memories"] == len(bob["memories"]) and bob_counts["personas"] == 1
    assert bob_counts["artifacts"] == 2 and bob_counts["souls"] == 2
    assert asyncio.run(services.media.owns_artifact(BOB, bob["shared_artifact"]))


class _FailingOwner:
    """A component whose delete fails half-way, to prove the deletion is one transaction."""

    data_tables: tuple[str, ...] = ()

    def count_user_data(self, user_id: str) -> dict[str, int]:
        return {"widgets": 1}

    def export_user_data(self, user_id: str) -> dict[str, Any]:
        return {"widgets": [user_id]}

    def delete_user_data(
        self, user_id: str, after_commit: Callable[[Callable[[], None]], None]
    ) -> dict[str, int]:
        after_commit(lambda: pytest.fail("after_commit ran although nothing was committed"))
        raise RuntimeError("disk on fire")


def test_an_owner_joins_by_registering_and_a_failed_delete_changes_nothing(
    services: Services,
) -> None:
    registry: UserDataRegistry = services.user_data
    alice = _seed(services, ALICE)
    registry.register("widgets", _FailingOwner())
    assert services.admin.export_user(ALICE)["widgets"] == [ALICE]
    assert registry.count(ALICE)["widgets"] == 1
    with pytest.raises(RuntimeError, match="disk on fire"):
        services.admin.delete_user(ALICE)
    assert registry.count(ALICE)["conversations"] == len(alice["conversations"])
    assert registry.count(ALICE)["memories"] == len(alice["memories"])
    with pytest.raises(ValueError, match="twice"):
        registry.register("widgets", _FailingOwner())


def test_a_table_with_a_user_column_and_no_owner_is_reported(services: Services) -> None:
    assert services.user_data.unclaimed_tables() == []
    with services.db.transaction() as conn:
        conn.execute("CREATE TABLE widget_notes (id INTEGER PRIMARY KEY, user_id TEXT)")
    assert services.user_data.unclaimed_tables() == ["widget_notes"]
