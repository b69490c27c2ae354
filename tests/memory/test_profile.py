"""Core memory: profile facts read by rules (ru + en) and the model, merged, stored in
SQLite, edited over REST, forgotten with their message, exported and deleted per user."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.composition import Services
from app.factory import create_app
from app.storage.database import Database
from config.settings import Settings
from memory.config import ProfileConfig
from memory.profile import FACTS_SCHEMA, CoreMemory, ProfileStore, name_in, parse_model_facts
from memory.profile_rules import extract_rule_facts
from memory.profile_types import FactDraft, NewProfileFact, ProfileFactPatch
from tests.waits import CATCH_UP_S


@pytest.mark.parametrize(
    ("text", "kind", "must_contain"),
    [
        ("Привет! Меня зовут Алексей.", "name", "Алексей"),
        ("My name is Anna, nice to meet you", "name", "Anna"),
        ("Hi, I'm Tom.", "name", "Tom"),
        ("У меня кот по имени Барсик.", "pet", "Барсик"),
        ("у меня есть кошка, её зовут мурка", "pet", "Мурка"),
        ("Моего кота зовут Барсик", "pet", "Барсик"),
        ("I have a dog named Rex.", "pet", "Rex"),
        ("My cat's name is Luna.", "pet", "Luna"),
        ("Моя сестра Маша живёт в Казани.", "person", "Казани"),
        ("My sister Kate lives in London.", "person", "London"),
        ("Я живу в Самаре.", "place", "Самаре"),
        ("I live in Berlin these days", "place", "Berlin"),
        ("У меня аллергия на арахис.", "allergy", "арахис"),
        ("I'm allergic to peanuts, sadly.", "allergy", "peanuts"),
        ("Я очень люблю зелёный чай.", "like", "зелёный чай"),
        ("I really love hiking in the mountains.", "like", "hiking"),
        ("Терпеть не могу... я ненавижу пробки.", "dislike", "пробки"),
        ("Мой день рождения 12 марта", "date", "12 марта"),
        ("My birthday is on May 5", "date", "May 5"),
    ],
)
def test_rules_read_facts_about_the_user(text: str, kind: str, must_contain: str) -> None:
    facts = extract_rule_facts(text, "user")
    assert any(f.kind == kind and must_contain in f.text for f in facts), facts


@pytest.mark.parametrize(
    "text",
    ["I love you", "Мне нравится это", "ok", "What's my cat's name?", "Как зовут мою сестру?"],
)
def test_rules_do_not_invent(text: str) -> None:
    assert extract_rule_facts(text, "user") == []


def test_promises_are_read_from_the_companion_only() -> None:
    said = "Обещаю напомнить тебе про день рождения Маши!"
    assert [f.kind for f in extract_rule_facts(said, "assistant")] == ["promise"]
    assert extract_rule_facts(said, "user") == []
    en = extract_rule_facts("I promise to remind you about Kate's birthday.", "assistant")
    assert en and "Kate's birthday" in en[0].text


def test_merge_replaces_by_subject_and_keeps_the_users_edits(db: Database) -> None:
    store = ProfileStore(db)
    assert store.merge("u", None, extract_rule_facts("My name is Anna", "user"), "rule", "m1")
    store.merge("u", None, extract_rule_facts("Actually, my name is Ann", "user"), "rule", "m2")
    names = [f for f in store.list("u") if f.kind == "name"]
    assert [f.text for f in names] == ["The user's name is Ann"]
    # the same sentence again changes nothing; the model does not override the rules
    assert (
        store.merge("u", None, [FactDraft("name", "me", "The user's name is Ann")], "rule", "m3")
        == 0
    )
    store.merge("u", None, [FactDraft("name", "x", "User is called Annie")], "model", "m4")
    assert [f.text for f in store.list("u") if f.kind == "name"] == ["The user's name is Ann"]
    # a hand-edited fact is never overwritten
    fact = store.update("u", names[0].id, ProfileFactPatch(text="Ann (Anya for friends)"))
    assert fact is not None and fact.source == "manual"
    store.merge("u", None, extract_rule_facts("My name is Bob", "user"), "rule", "m5")
    assert [f.text for f in store.list("u") if f.kind == "name"] == ["Ann (Anya for friends)"]
    # another user's facts are apart
    assert store.list("v") == []
    assert store.update("v", fact.id, ProfileFactPatch(pinned=True)) is None
    assert store.delete("v", fact.id) is False


def test_model_facts_must_be_grounded_in_the_message() -> None:
    raw = json.dumps(
        {
            "facts": [
                {"kind": "pet", "subject": "cat", "text": "The user has a cat named Barsik"},
                {"kind": "place", "subject": "city", "text": "The user lives in Paris"},
                {"kind": "bogus", "subject": "x", "text": "Barsik"},
                {"kind": "promise", "subject": "x", "text": "Promised Barsik treats"},
            ]
        }
    )
    facts = parse_model_facts(raw, "My cat Barsik sleeps all day.")
    assert [(f.kind, f.text) for f in facts] == [("pet", "The user has a cat named Barsik")]
    assert parse_model_facts("not json {", "text") == []
    assert parse_model_facts('{"facts": "nope"}', "text") == []
    assert FACTS_SCHEMA["properties"]["facts"]["items"]["required"] == ["kind", "subject", "text"]


def test_core_memory_in_the_background_with_rules_and_the_model(db: Database) -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def ask(instruction: str, message: str, schema: dict[str, Any]) -> str:
        asked.append((message, schema))
        return json.dumps(
            {"facts": [{"kind": "like", "subject": "tea", "text": "The user drinks green tea"}]}
        )

    core = CoreMemory(ProfileStore(db), ProfileConfig(), ask_model=ask)
    core.start()
    try:
        core.observe("u", "p1", "m1", "user", "My name is Anna and I drink green tea every day.")
        core.observe("u", "p1", "m2", "assistant", "I promise to remind you about the tea party.")
        core.observe("u", "p1", "m3", "user", "ok")  # too short for the model
        assert core.wait_idle(CATCH_UP_S)
    finally:
        core.stop()
    assert [m for m, _ in asked] == ["My name is Anna and I drink green tea every day."]
    assert asked[0][1] is FACTS_SCHEMA
    facts = core.store.list("u", "p1")
    by_kind = {f.kind: f for f in facts}
    assert by_kind["name"].source == "rule" and by_kind["like"].source == "model"
    assert by_kind["promise"].persona_id == "p1" and by_kind["name"].persona_id is None
    # a promise belongs to the persona that made it
    assert "promise" not in {f.kind for f in core.store.list("u", "p2")}
    lines = core.prompt_lines("u", "p1")
    assert "The user's name is Anna" in lines and len(lines) == 3
    status = core.status()
    assert status.model_runs == 1 and status.queue == 0 and status.model_extraction


def test_rule_facts_do_not_wait_behind_a_model_ask_for_a_quiet_spell(db: Database) -> None:
    """A lively chat: the model is never free, yet each message's rule facts are in the
    profile as soon as `observe` returns (the next turn's note carries them)."""
    asked: list[str] = []
    core = CoreMemory(
        ProfileStore(db),
        ProfileConfig(),
        ask_model=lambda _i, text, _s: asked.append(text) or '{"facts": []}',
        model_busy=lambda: True,
    )
    core.start()
    try:
        core.observe("u", None, "m1", "user", "Привет! Меня зовут Алексей, я живу в Самаре.")
        core.observe(
            "u", None, "m2", "user", "Моя сестра Маша живёт в Казани, а у меня аллергия на арахис."
        )
        texts = [f.text for f in core.store.list("u")]
        assert "Имя пользователя: Алексей" in texts
        assert any("Маша" in t and "Казан" in t for t in texts)
        assert any("арахис" in t for t in texts)
        assert asked == [] and core.status().queue == 2  # the model waits for a quiet spell
    finally:
        core.model_busy = lambda: False
        assert core.wait_idle(CATCH_UP_S)
        core.stop()
    assert len(asked) == 2


def test_a_failing_model_leaves_the_rules_facts(db: Database) -> None:
    def ask(*_: Any) -> str:
        raise TimeoutError("slow")

    core = CoreMemory(ProfileStore(db), ProfileConfig(), ask_model=ask)
    assert core.extract_now("u", None, "m1", "user", "У меня кот по имени Барсик, он рыжий") == 1
    assert core.status().model_failures == 1
    assert [f.text for f in core.store.list("u")] == ["У пользователя кот по имени Барсик"]


def test_pinned_first_and_the_prompt_limit(db: Database) -> None:
    core = CoreMemory(ProfileStore(db), ProfileConfig(max_prompt_facts=2, model_extraction=False))
    for i, text in enumerate(["I love jazz", "I love chess", "I love tea", "I love rain"]):
        core.extract_now("u", None, f"m{i}", "user", text)
    jazz = next(f for f in core.store.list("u") if "jazz" in f.text)
    core.store.update("u", jazz.id, ProfileFactPatch(pinned=True))
    assert core.prompt_lines("u", None) == ["The user likes jazz", "The user likes rain"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The user's name is Anna", "Anna"),
        ("Имя пользователя: Алексей", "Алексей"),
        ("User is called Anna", "Anna"),
        ("Пользователя зовут Маша", "Маша"),
        ("Ann (Anya for friends)", "Ann"),
        ("the user's name", None),
    ],
)
def test_the_name_a_name_fact_states(text: str, name: str | None) -> None:
    assert name_in(text) == name


def test_the_users_name_comes_from_the_profile(db: Database) -> None:
    core = CoreMemory(ProfileStore(db), ProfileConfig(model_extraction=False))
    assert core.user_name("u") is None
    core.extract_now("u", None, "m1", "user", "I live in Oslo and love jazz")
    assert core.user_name("u") is None  # no name fact: the configured default stays
    core.extract_now("u", None, "m2", "user", "Привет! Меня зовут Алексей.")
    assert core.user_name("u") == "Алексей" and core.user_name("u", "persona-x") == "Алексей"
    name = next(f for f in core.store.list("u") if f.kind == "name")
    core.store.update("u", name.id, ProfileFactPatch(text="Алёша (так зовут друзья)"))
    assert core.user_name("u") == "Алёша"  # the user's own edit wins
    assert core.user_name("v") is None
    off = CoreMemory(ProfileStore(db), ProfileConfig(enabled=False))
    assert off.user_name("u") is None


def test_edited_away_messages_take_their_facts_with_them(db: Database) -> None:
    store = ProfileStore(db)
    store.merge("u", None, extract_rule_facts("I have a cat named Tom", "user"), "rule", "m1")
    store.merge("u", None, extract_rule_facts("I live in Oslo", "user"), "rule", "m2")
    pinned = store.list("u")[0]
    store.update("u", pinned.id, ProfileFactPatch(pinned=True))
    store.forget_messages("u", ["m1", "m2"])
    assert [f.id for f in store.list("u")] == [pinned.id]  # a pinned fact stays


# -- REST, the prompt, and the user's data ---------------------------------------------------


@pytest.fixture
def client(make_settings: Any) -> Iterator[tuple[TestClient, Services]]:
    settings: Settings = make_settings()
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client, app.state.services


def test_profile_over_rest(client: tuple[TestClient, Services]) -> None:
    http, services = client
    assert http.get("/api/memory/profile", params={"user_id": "alice"}).json() == {"items": []}
    made = http.post(
        "/api/memory/profile",
        json={"text": "Allergic to peanuts", "kind": "allergy", "user_id": "alice"},
    )
    assert made.status_code == 201, made.text
    fact = made.json()
    assert fact["source"] == "manual" and fact["kind"] == "allergy"
    services.memory.profile.extract_now("alice", None, "m1", "user", "Меня зовут Алиса")
    items = http.get("/api/memory/profile", params={"user_id": "alice"}).json()["items"]
    assert {i["text"] for i in items} == {"Allergic to peanuts", "Имя пользователя: Алиса"}

    fid = fact["id"]
    edited = http.patch(
        f"/api/memory/profile/{fid}",
        params={"user_id": "alice"},
        json={"text": "Severe peanut allergy", "pinned": True},
    ).json()
    assert edited["text"] == "Severe peanut allergy" and edited["pinned"] is True
    first = http.get("/api/memory/profile", params={"user_id": "alice"}).json()["items"][0]
    assert first["id"] == fid  # pinned first

    # isolation and bad input: 404 / 422, never 500
    assert (
        http.patch(
            f"/api/memory/profile/{fid}", params={"user_id": "bob"}, json={"pinned": False}
        ).status_code
        == 404
    )
    assert http.delete(f"/api/memory/profile/{fid}", params={"user_id": "bob"}).status_code == 404
    assert http.get("/api/memory/profile", params={"user_id": "bob"}).json() == {"items": []}
    bad = http.post("/api/memory/profile", json={"text": "", "user_id": "alice"})
    assert bad.status_code == 422
    assert (
        http.post(
            "/api/memory/profile", json={"text": "x", "kind": "nonsense", "user_id": "alice"}
        ).status_code
        == 422
    )
    assert http.patch("/api/memory/profile/0", json={"pinned": True}).status_code == 422
    assert http.delete(f"/api/memory/profile/{2**70}").status_code == 422
    assert http.delete(f"/api/memory/profile/{fid}", params={"user_id": "alice"}).status_code == 204
    assert http.delete(f"/api/memory/profile/{fid}", params={"user_id": "alice"}).status_code == 404
    # /health shows the extractor
    health = http.get("/health").json()
    assert "profile" in json.dumps(health)


def test_profile_is_the_users_data(client: tuple[TestClient, Services]) -> None:
    _, services = client
    services.users.get_or_create("alice")
    services.memory.profile.store.add("alice", NewProfileFact(text="Likes tea", kind="like"))
    assert "memory_profile" not in services.user_data.unclaimed_tables()
    assert services.user_data.count("alice")["profile_facts"] == 1
    exported = services.user_data.export("alice")
    assert [f["text"] for f in exported["profile_facts"]] == ["Likes tea"]
    deleted = services.user_data.delete("alice")
    assert deleted["profile_facts"] == 1
    assert services.memory.profile.store.list("alice", every=True) == []


def test_the_prompt_keeps_who_the_user_is_before_the_models_extras(db: Database) -> None:
    core = CoreMemory(ProfileStore(db), ProfileConfig(max_prompt_facts=2, model_extraction=False))
    core.extract_now("u", None, "m1", "user", "Меня зовут Алексей, у меня аллергия на арахис")
    extras = [FactDraft("like", f"thing {i}", f"The user likes thing {i}") for i in range(5)]
    core.store.merge("u", None, extras, "model", "m2")
    assert core.prompt_lines("u", None) == ["Имя пользователя: Алексей", "Аллергия на арахис"]


def test_the_model_is_asked_only_after_a_quiet_spell(db: Database) -> None:
    now = [1000.0]
    last_turn = [995.0]
    asked: list[float] = []

    def ask(*_: Any) -> str:
        asked.append(now[0])
        return '{"facts": []}'

    core = CoreMemory(
        ProfileStore(db),
        ProfileConfig(model_idle_s=15),
        ask_model=ask,
        last_activity=lambda: last_turn[0],
        clock=lambda: now[0],
    )
    assert not core._quiet()  # a turn 5 s ago: the chat's cached prompt stays
    now[0] = 1011.0
    assert core._quiet()
    core.model_busy = lambda: True
    assert not core._quiet()  # a turn is generating
    core.model_busy = None
    core.extract_now("u", None, "m1", "user", "My name is Anna and I like tea")
    assert asked == [1011.0]


def test_model_answers_and_jokes_are_not_facts_about_the_user() -> None:
    """What a small model wrote when it answered the message instead of reading it: one
    shared word ("sky") let it in before; most of a fact's own words must be the user's."""
    message = "Tell me why the sky is blue, I always wondered about it"
    raw = json.dumps(
        {
            "facts": [
                {
                    "kind": "other",
                    "subject": "sky",
                    "text": "The sky is blue because of scattering",
                },
                {"kind": "other", "subject": "joke", "text": "Why don't scientists trust atoms?"},
                {"kind": "like", "subject": "sky", "text": "The user wonders about the sky"},
            ]
        }
    )
    assert [f.text for f in parse_model_facts(raw, message)] == ["The user wonders about the sky"]
    # Stems meet across inflections: «живёт в Самаре» is grounded in «я живу в Самаре».
    ru = json.dumps({"facts": [{"kind": "place", "subject": "город", "text": "Живёт в Самаре"}]})
    assert [f.text for f in parse_model_facts(ru, "Я живу в Самаре уже год")] == ["Живёт в Самаре"]
