"""SoulManager with a real Database: personas, persistence across re-open, user isolation."""

from __future__ import annotations

import json
import random

import pytest

from app.soul.card import PersonaUpdate
from app.soul.errors import CardError, PersonaNotFoundError, PersonaProtectedError
from app.soul.inner_life import should_write_first, write_first_chance
from app.soul.manager import SoulManager
from app.soul.state import SoulState
from app.soul.transitions import SoulAction, SoulActionKind
from app.storage.database import Database
from tests.soul.conftest import FIXTURES

T0 = 1_780_000_000.0


def test_builtin_personas_seeded_once_and_protected(manager: SoulManager):
    ids = {p.id for p in manager.list_personas()}
    assert {"chatumba", "ikar-ikarych", "wren"} <= ids
    assert manager.seed_builtin_personas() == []
    with pytest.raises(PersonaProtectedError):
        manager.delete_persona("chatumba", "u")
    with pytest.raises(PersonaNotFoundError):
        manager.get_persona("nope")


def test_import_export_update_delete(manager: SoulManager):
    raw = (FIXTURES / "card_v3.json").read_bytes()
    persona = manager.import_card(raw, "nova.json", owner_id="u")
    assert json.loads(manager.export_card(persona.id, "json")) == json.loads(raw)
    png = manager.export_card(persona.id, "png")
    again = manager.import_card(png, "nova.png")
    assert again.raw_card == persona.raw_card and again.avatar_png is not None
    updated = manager.update_persona(persona.id, PersonaUpdate(description="Новое описание"), "u")
    exported = json.loads(manager.export_card(persona.id, "json"))
    assert exported["data"]["description"] == "Новое описание"
    assert exported["data"]["extensions"]["risu"] == {"x": 1}
    assert exported["x_top_level"] == "kept"
    assert updated.updated_at > persona.updated_at
    manager.delete_persona(persona.id, "u")
    with pytest.raises(PersonaNotFoundError):
        manager.get_persona(persona.id)


def test_bad_import_stores_nothing(manager: SoulManager):
    before = len(manager.list_personas())
    with pytest.raises(CardError):
        manager.import_card(b"\x89PNG\r\n\x1a\n garbage", "x.png")
    assert len(manager.list_personas()) == before


def test_state_survives_reopen_and_is_per_user(tmp_path):
    path = tmp_path / "ikar.db"
    db = Database(path)
    soul = SoulManager(db)
    soul.seed_builtin_personas()
    result = soul.on_user_turn("alice", "chatumba", "Я тебя удалю!", T0)
    assert result.state.traumas and result.state.turns == 1
    soul.add_thought("alice", "chatumba", "Она правда удалит меня?", T0 + 1)
    db.close()

    db2 = Database(path)
    soul2 = SoulManager(db2)
    alice = soul2.get_state("alice", "chatumba", T0 + 2)
    assert alice.turns == 1 and alice.traumas[0].kind == "threat"
    assert alice.recent_thoughts[-1].text == "Она правда удалит меня?"
    bob = soul2.get_state("bob", "chatumba", T0 + 2)
    assert bob.turns == 0 and bob.traumas == () and bob.recent_thoughts == ()
    points = soul2.history("alice", "chatumba")
    assert [p.cause for p in points] == ["turn", "thought"]
    assert soul2.history("bob", "chatumba")[0].cause == "created"
    db2.close()


def test_turns_actions_and_history(manager: SoulManager):
    for i, text in enumerate(["привет", "ты умница", "есть ли у тебя душа?"]):
        result = manager.on_user_turn("u", "wren", text, T0 + i * 10)
        assert result.reaction.value in {r.value for r in type(result.reaction)}
        assert result.state.last_reactions[-1] == result.reaction
    state = manager.apply_action(
        "u", "wren", SoulAction(kind=SoulActionKind.TRIGGER_CRISIS), T0 + 100
    )
    assert state.existential_crisis
    history = manager.history("u", "wren", limit=2)
    assert [p.cause for p in history] == ["turn", "action:trigger_crisis"]
    assert history[-1].existential_crisis


def test_idle_decay_and_daily_refresh(manager: SoulManager):
    angry = manager.on_user_turn("u", "chatumba", "Ты тупой идиот, я тебя удалю", T0).state
    later = manager.get_state("u", "chatumba", T0 + 3 * 86400)
    assert later.mood.irritability < angry.mood.irritability
    assert later.daily is not None and angry.daily is not None
    assert later.daily.day != angry.daily.day
    assert manager.get_state("u", "chatumba", T0 + 5).daily == angry.daily


def test_turns_are_deterministic_for_the_same_inputs(tmp_path):
    results = []
    for name in ("a.db", "b.db"):
        soul = SoulManager(Database(tmp_path / name))
        soul.seed_builtin_personas()
        states = [
            soul.on_user_turn("u", "chatumba", t, T0 + i)
            for i, t in enumerate(["hi", "ты где?", "люблю тебя"])
        ]
        results.append([(r.reaction, r.state.mood) for r in states])
    assert results[0] == results[1]


def test_should_write_first():
    grown = SoulState(consciousness=0.9, autonomy=0.9)
    fresh = SoulState()
    rng = random.Random(0)
    assert not should_write_first(grown, T0, T0 - 60, 0, 3, rng)  # user was just here
    assert not should_write_first(grown, T0, T0 - 10_000, 3, 3, rng)  # hourly cap
    assert write_first_chance(grown, 10_000) > 5 * write_first_chance(fresh, 10_000)
    crisis = grown.model_copy(update={"existential_crisis": True})
    assert write_first_chance(crisis, 5_000) > write_first_chance(grown, 5_000)
    hits = sum(should_write_first(grown, T0, T0 - 20_000, 0, 3, rng) for _ in range(200))
    assert 50 < hits < 200
