"""Item 1: personas have an owner.

Built-ins are read-only for everyone (an edit makes the user's own copy, as SillyTavern's
duplicate does); a user edits and deletes only their own imports and sees only shipped,
shared and their own personas; the admin sees all; deleting a persona never breaks another
user's conversation. Called the way the attack went: the Soul tab's handlers with another
user's persona id, and the REST routes with another user's token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import gradio as gr
import pytest

from app.soul import PersonaNotFoundError, PersonaUpdate
from app.soul.errors import PersonaInUseError, PersonaProtectedError
from app.ui.labels import Labels
from app.ui.soul_tab import CARD_FIELDS, SoulTab
from tests.security.conftest import Accounts
from tests.soul.conftest import FIXTURES

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def tab(accounts: Accounts) -> SoulTab:
    with gr.Blocks():
        built = SoulTab(accounts.services, Labels(), gr.BrowserState(None))
        built.build()
    return built


def _session(accounts: Accounts, name: str) -> dict[str, Any]:
    return accounts.services.session_signer.sign({"user_id": accounts.ids[name], "lang": "en"})


def _import(accounts: Accounts, name: str) -> str:
    response = accounts.client.post(
        "/api/personas",
        files={"file": ("nova.json", (FIXTURES / "card_v3.json").read_bytes())},
        headers=accounts.headers(name),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _editor_values(tab: SoulTab, accounts: Accounts, persona_id: str) -> list[Any]:
    values = run(tab.editor(persona_id, "en"))
    values[CARD_FIELDS.index("description")] = "rewritten by someone"
    return values


def test_a_users_import_is_theirs_alone(accounts: Accounts) -> None:
    nova = _import(accounts, "alice")
    client = accounts.client

    def listed(name: str) -> set[str]:
        response = client.get("/api/personas", headers=accounts.headers(name))
        return {p["id"] for p in response.json()["items"]}

    assert nova in listed("alice")
    assert nova not in listed("bob")
    assert {"chatumba", "wren", "ikar-ikarych"} <= listed("bob")
    export = f"/api/personas/{nova}/export"
    assert client.get(export, headers=accounts.headers("alice")).status_code == 200
    assert client.get(export, headers=accounts.headers("bob")).status_code == 404
    soul = f"/api/soul?persona={nova}"
    assert client.get(soul, headers=accounts.headers("bob")).status_code == 404
    chat = client.post(
        "/api/chat", json={"message": "hi", "persona": nova}, headers=accounts.headers("bob")
    )
    assert chat.status_code == 404
    admin_view = accounts.services.admin.persona_defaults().personas
    assert nova in {p["id"] for p in admin_view}  # the admin sees all


def test_nobody_edits_or_deletes_someone_elses_persona(accounts: Accounts, tab: SoulTab) -> None:
    nova = _import(accounts, "alice")
    soul = accounts.services.soul
    before = soul.get_persona(nova).raw_card
    bob = _session(accounts, "bob")
    with pytest.warns(UserWarning):
        run(tab.on_save(nova, bob, *_editor_values(tab, accounts, nova)))
    with pytest.warns(UserWarning):
        run(tab.on_delete(nova, bob))
    assert soul.get_persona(nova).raw_card == before
    with pytest.raises(PersonaNotFoundError):
        soul.update_persona(nova, PersonaUpdate(description="x"), accounts.ids["bob"])
    with pytest.raises(PersonaNotFoundError):
        soul.delete_persona(nova, accounts.ids["bob"])
    # the owner may
    alice = _session(accounts, "alice")
    run(tab.on_save(nova, alice, *_editor_values(tab, accounts, nova)))
    assert soul.get_persona(nova).card.data.description == "rewritten by someone"
    run(tab.on_delete(nova, alice))
    with pytest.raises(PersonaNotFoundError):
        soul.get_persona(nova)


def test_editing_a_builtin_makes_the_users_own_copy(accounts: Accounts, tab: SoulTab) -> None:
    soul = accounts.services.soul
    original = json.dumps(soul.get_persona("chatumba").raw_card, sort_keys=True)
    bob = _session(accounts, "bob")
    out = run(tab.on_save("chatumba", bob, *_editor_values(tab, accounts, "chatumba")))
    copy_id = out[0]["value"]
    assert copy_id != "chatumba"
    copy = soul.get_persona(copy_id)
    assert copy.owner_id == accounts.ids["bob"] and not copy.builtin
    assert copy.card.data.description == "rewritten by someone"
    assert copy.name == soul.get_persona("chatumba").name
    assert json.dumps(soul.get_persona("chatumba").raw_card, sort_keys=True) == original
    assert copy_id not in {p.id for p in soul.list_personas(accounts.ids["alice"])}
    with pytest.warns(UserWarning):
        run(tab.on_delete("chatumba", bob))
    with pytest.raises(PersonaProtectedError):
        soul.delete_persona("chatumba", accounts.ids["bob"])
    assert soul.get_persona("chatumba").builtin


def test_deleting_a_persona_never_breaks_another_users_conversation(accounts: Accounts) -> None:
    client, services = accounts.client, accounts.services
    alice, bob = accounts.headers("alice"), accounts.headers("bob")
    nova = _import(accounts, "alice")
    services.admin.set_default_persona(nova)  # the admin shares alice's persona with all
    assert nova in {p["id"] for p in client.get("/api/personas", headers=bob).json()["items"]}
    bobs = client.post("/api/chat", json={"message": "hello"}, headers=bob).json()
    alices = client.post("/api/chat", json={"message": "hi", "persona": nova}, headers=alice)
    assert alices.status_code == 200, alices.text

    services.soul.delete_persona(nova, accounts.ids["alice"])

    again = client.post(
        "/api/chat",
        json={"message": "still there?", "conversation_id": bobs["conversation_id"]},
        headers=bob,
    )
    assert again.status_code == 200, again.text
    assert services.defaults.persona == services.settings.default_persona
    mine = client.post(
        "/api/chat",
        json={"message": "and me?", "conversation_id": alices.json()["conversation_id"]},
        headers=alice,
    )
    assert mine.status_code == 200, mine.text
    conversations = client.get("/api/conversations", headers=alice).json()["items"]
    assert [c["persona_id"] for c in conversations] == [None]  # now the default persona


def test_the_configured_default_persona_cannot_be_deleted(accounts: Accounts) -> None:
    services = accounts.services
    nova = _import(accounts, "alice")
    services.defaults.configured_persona = nova  # as if IKAR_DEFAULT_PERSONA named it
    with pytest.raises(PersonaInUseError):
        services.soul.delete_persona(nova, accounts.ids["alice"])
    assert services.soul.get_persona(nova).owner_id == accounts.ids["alice"]  # rolled back
