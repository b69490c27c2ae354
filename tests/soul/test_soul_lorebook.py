"""SoulManager.update_lorebook: edits keep what they do not touch, on V2 and V3 cards."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.soul.card import LoreEntryEdit
from app.soul.errors import PersonaNotFoundError
from app.soul.manager import SoulManager

USER = "lore-user"  # the owner: edits change their persona in place


def _import(manager: SoulManager, card: dict[str, Any]) -> str:
    return manager.import_card(json.dumps(card).encode(), "card.json", owner_id=USER).id


def _exported_book(manager: SoulManager, persona_id: str) -> dict[str, Any]:
    book: dict[str, Any] = json.loads(manager.export_card(persona_id, "json"))["data"][
        "character_book"
    ]
    return book


def test_edits_keep_other_fields_of_their_source_entry(
    manager: SoulManager, card_v2: dict[str, Any]
) -> None:
    persona_id = _import(manager, card_v2)
    edits = [
        LoreEntryEdit(source=3, keys=["молоко", " сливки "], content="Warm milk or cream."),
        LoreEntryEdit(source=0, keys=["рыб"], content="Кот обожает рыбу.", enabled=False),
        LoreEntryEdit(keys=["сон"], content="The cat sleeps all day.", insertion_order=7),
    ]  # entries 1 and 2 are dropped
    persona = manager.update_lorebook(persona_id, edits, USER)

    book = _exported_book(manager, persona_id)
    assert book["name"] == "Кошачьи знания"
    assert book["extensions"] == {"other_tool": {"flag": True}}
    milk, fish, new = book["entries"]
    assert milk["keys"] == ["молоко", "сливки"] and milk["content"] == "Warm milk or cream."
    assert milk["secondary_keys"] == ["тёплое"] and milk["selective"] is True
    assert fish["enabled"] is False and fish["x_entry_extra"] == 5 and fish["priority"] == 1
    assert new == {
        "extensions": {},
        "use_regex": False,
        "keys": ["сон"],
        "content": "The cat sleeps all day.",
        "enabled": True,
        "insertion_order": 7,
    }
    typed = persona.card.data.character_book
    assert typed is not None and [e.content for e in typed.entries][2] == new["content"]
    assert manager.get_persona(persona_id).updated_at == persona.updated_at


def test_blank_rows_are_dropped_and_a_source_is_used_once(
    manager: SoulManager, card_v2: dict[str, Any]
) -> None:
    persona_id = _import(manager, card_v2)
    manager.update_lorebook(
        persona_id,
        [
            LoreEntryEdit(source=0, keys=["a"], content="first"),
            LoreEntryEdit(source=0, keys=["b"], content="copy"),
            LoreEntryEdit(keys=[" ", ""], content="   "),
            LoreEntryEdit(source=99, keys=["c"], content="out of range"),
        ],
        USER,
    )
    entries = _exported_book(manager, persona_id)["entries"]
    assert [e["content"] for e in entries] == ["first", "copy", "out of range"]
    assert entries[0]["x_entry_extra"] == 5
    assert "x_entry_extra" not in entries[1] and "priority" not in entries[2]


def test_a_card_without_a_lorebook_gets_one_only_when_needed(
    manager: SoulManager, card_v3: dict[str, Any]
) -> None:
    card = copy.deepcopy(card_v3)
    card["data"].pop("character_book", None)
    persona_id = _import(manager, card)
    before = manager.get_persona(persona_id)
    assert manager.update_lorebook(persona_id, [], USER).updated_at == before.updated_at
    assert "character_book" not in json.loads(manager.export_card(persona_id, "json"))["data"]

    manager.clock = lambda: 1_900_000_000.0
    manager.update_lorebook(persona_id, [LoreEntryEdit(keys=["star"], content="A star.")], USER)
    data = json.loads(manager.export_card(persona_id, "json"))["data"]
    assert data["character_book"]["entries"][0]["keys"] == ["star"]
    assert data["modification_date"] == 1_900_000_000  # V3 cards record the edit time
    again = manager.import_card(manager.export_card(persona_id, "png"), "again.png")
    assert again.card.data.character_book is not None


def test_clearing_the_lorebook_and_unknown_persona(manager: SoulManager) -> None:
    persona = manager.update_lorebook("chatumba", [], USER)  # a shipped one: the user's copy
    assert persona.card.data.character_book is not None
    assert persona.card.data.character_book.entries == []
    assert not persona.builtin and persona.owner_id == USER and persona.id != "chatumba"
    shipped = manager.get_persona("chatumba").card.data.character_book
    assert shipped is not None and shipped.entries
    with pytest.raises(PersonaNotFoundError):
        manager.update_lorebook("nope", [], USER)
