"""What a chat turn leaves in long-term memory: who said it, and nothing that is not worth
keeping (refusals, errors, acknowledgements, bare questions, messages edited away or
regenerated over).

The model is the scripted backend (a refusal or an error cannot be asked of a real model on
demand); memory, the soul and the chat pipeline are the real ones.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.composition import Services
from app.services.memory_turns import MemoryTurnHook
from config.settings import Settings
from memory import TurnIn
from memory.types import MemoryItem
from models.errors import LLMTimeoutError
from tests.app.fakes import ScriptedBackend, services_with
from tests.waits import CATCH_UP_S


def _services(settings: Settings, backend: ScriptedBackend) -> Services:
    services = services_with(settings, backend)
    services.memory.start()
    services.memory.profile.last_activity = None  # ask the (scripted) model at once
    return services


def _turns(services: Services, user: str = "u1") -> list[MemoryItem]:
    return [m for m in services.memory.store.all_for_user(user) if m.kind == "turn"]


async def _drain(events: Any) -> list[Any]:
    return [e async for e in events]


def test_turns_are_remembered_with_who_said_them(make_settings: Any) -> None:
    settings = make_settings(user_display_name="Alexey")
    services = _services(settings, ScriptedBackend(words=["Barsik", " is", " a", " fine", " cat."]))
    try:
        done = asyncio.run(services.chat.complete("u1", "My cat is called Barsik."))
        assert done.type == "done"
        persona = services.soul.get_persona(done.outcome.persona)  # type: ignore[union-attr]
        by_role = {m.role: m for m in _turns(services)}
        assert by_role["user"].author == "Alexey"
        assert by_role["assistant"].author == persona.name
        assert by_role["assistant"].text == "Barsik is a fine cat."
    finally:
        services.close()


def test_regenerated_over_and_edited_away_messages_are_forgotten(settings: Settings) -> None:
    backend = ScriptedBackend(words=["First", " answer", " about", " Kazan."])
    services = _services(settings, backend)
    try:
        first = asyncio.run(services.chat.complete("u1", "My sister Masha lives in Kazan."))
        cid = first.conversation_id
        assert cid is not None
        assert {m.message_id for m in _turns(services)} == {
            first.user_message_id,
            first.message_id,
        }
        backend.words = ["Second", " answer", " about", " Kazan."]
        events = asyncio.run(_drain(services.chat.regenerate("u1", cid)))
        regenerated = events[-1]
        texts = {m.message_id: m.text for m in _turns(services)}
        assert first.message_id not in texts  # the reply regenerated over is forgotten
        assert texts[regenerated.message_id] == "Second answer about Kazan."
        assert texts[first.user_message_id] == "My sister Masha lives in Kazan."

        backend.words = ["Noted", " Samara."]
        events = asyncio.run(
            _drain(services.chat.edit_last("u1", cid, "My sister Masha lives in Samara."))
        )
        edited = events[-1]
        texts = {m.message_id: m.text for m in _turns(services)}
        assert first.user_message_id not in texts  # the edited-away message is forgotten
        assert regenerated.message_id not in texts
        assert sorted(texts.values()) == ["My sister Masha lives in Samara.", "Noted Samara."]
        assert set(texts) == {edited.user_message_id, edited.message_id}
        assert not any("Kazan" in m.text for m in services.memory.store.all_for_user("u1"))
    finally:
        services.close()


def test_refusals_errors_and_acknowledgements_are_not_remembered(settings: Settings) -> None:
    backend = ScriptedBackend(words=["I'm", " sorry,", " but", " I", " can't", " help", " with"])
    services = _services(settings, backend)
    try:
        refused = asyncio.run(services.chat.complete("u1", "My cat is Barsik. Nice name?"))
        kept = {m.message_id for m in _turns(services)}
        assert refused.user_message_id in kept and refused.message_id not in kept

        asked = asyncio.run(services.chat.complete("u1", "What is my cat's name?"))
        assert asked.user_message_id not in {m.message_id for m in _turns(services)}

        backend.words = ["Error:", " the", " model", " failed"]
        errored = asyncio.run(services.chat.complete("u1", "Tell me about Kazan"))
        assert errored.message_id not in {m.message_id for m in _turns(services)}

        backend.words = ["Glad", " to", " help!", " Anything", " else", " about", " Kazan?"]
        acked = asyncio.run(services.chat.complete("u1", "ok thanks"))
        kept = {m.message_id for m in _turns(services)}
        assert acked.user_message_id not in kept and acked.message_id in kept

        backend.words = []
        backend.error = LLMTimeoutError("too slow")
        failed = asyncio.run(services.chat.complete("u1", "Where does Masha live?"))
        assert failed.type == "error"
        assert failed.user_message_id not in {m.message_id for m in _turns(services)}
        assert services.memory.status().not_remembered >= 5
    finally:
        services.close()


def test_profile_facts_reach_the_prompt_of_a_new_conversation(settings: Settings) -> None:
    backend = ScriptedBackend(words=["Nice", " to", " meet", " you!"])
    services = _services(settings, backend)
    try:
        told = asyncio.run(
            services.chat.complete(
                "u1", "Меня зовут Алексей, у меня кот по имени Барсик и аллергия на арахис."
            )
        )
        assert told.type == "done"
        assert services.memory.profile.wait_idle(CATCH_UP_S)
        facts = {f.kind: f.text for f in services.memory.profile.store.list("u1")}
        assert facts["name"] == "Имя пользователя: Алексей"
        assert "Барсик" in facts["pet"] and "арахис" in facts["allergy"]
        # a new conversation: nothing of it in the history, the profile is in the note
        asyncio.run(services.chat.complete("u1", "What should I cook tonight?"))
        prompt = backend.prompts[-1]
        note = next(m.content for m in reversed(prompt) if m.role == "system")
        assert "Барсик" in note and "арахис" in note and "Алексей" in note
        assert prompt[-1].content == "What should I cook tonight?"
        # another user's prompt carries none of it
        asyncio.run(services.chat.complete("u2", "What should I cook tonight?"))
        assert "Барсик" not in "\n".join(m.content for m in backend.prompts[-1])
    finally:
        services.close()


def test_the_name_the_user_told_is_used_in_the_turn(settings: Settings) -> None:
    """The profile's name replaces the configured "friend" in the note and in who said a
    memory; the system prompt keeps the configured name (one warmed prefix for all)."""
    backend = ScriptedBackend(words=["Nice", " to", " meet", " you!"])
    services = _services(settings, backend)
    try:
        asyncio.run(services.chat.complete("u1", "Hi! What should I cook tonight?"))
        first_note = next(m.content for m in reversed(backend.prompts[-1]) if m.role == "system")
        assert "Алексей" not in first_note
        told = asyncio.run(services.chat.complete("u1", "Меня зовут Алексей, я живу в Самаре."))
        assert services.memory.profile.wait_idle(CATCH_UP_S)
        assert services.memory.profile.user_name("u1") == "Алексей"
        asyncio.run(services.chat.complete("u1", "I love rainy days."))
        prompt = backend.prompts[-1]
        note = next(m.content for m in reversed(prompt) if m.role == "system")
        assert "о собеседнике (Алексей)" in note  # the default persona speaks Russian
        assert prompt[0].content == backend.prompts[0][0].content  # the same system prefix
        by_text = {m.text: m for m in _turns(services)}
        assert by_text["I love rainy days."].author == "Алексей"
        assert told.user_message_id is not None
        # another user is not called by this user's name
        asyncio.run(services.chat.complete("u2", "I love rainy days too."))
        other = next(m.content for m in reversed(backend.prompts[-1]) if m.role == "system")
        assert "Алексей" not in other
    finally:
        services.close()


def test_a_fact_told_is_recalled_by_the_very_next_turn(settings: Settings) -> None:
    """Turn N+1 sent the moment turn N is done, in a new conversation (nothing in its
    history), while an import is still being embedded: the fact told in turn N is recalled
    by meaning (no word in common), so its vector must be in the index by then. The
    question was asked before, so its vector is cached and recall does not even wait for
    the embedder. The real embedder; the test itself never waits."""
    backend = ScriptedBackend(words=["Sounds", " lovely!"])
    services = _services(settings, backend)
    try:
        hook = next(h for h in services.chat.hooks if isinstance(h, MemoryTurnHook))
        hook.settle_s = 120.0  # a loaded CI machine: the bound is not what is tested here
        noise = [
            "I watched a documentary about volcanoes yesterday.",
            "The printer at work keeps jamming on Mondays.",
            "We had pancakes with blueberries for breakfast.",
            "My favourite board game is chess, I play it every weekend.",
            "The train was late again this morning.",
            "I'm reading a long novel about sailors.",
            "Our neighbours painted their fence bright green.",
            "The gym was crowded after the holidays.",
        ]
        services.memory.remember_turns(
            [
                TurnIn(user_id="u1", conversation_id="imported", message_id=f"n{i}", role="user",
                       text=f"{noise[i % len(noise)]} ({i})", created_at=1.0 + i)
                for i in range(96)
            ]
        )  # fmt: skip
        question = "Which city is my sibling living in?"
        asyncio.run(services.chat.complete("u1", question))  # not known yet
        told = asyncio.run(
            services.chat.complete("u1", "My sister Olivia moved to Dublin last spring.")
        )
        asked = asyncio.run(services.chat.complete("u1", question))  # asked again, at once
        assert asked.type == "done" and asked.outcome is not None
        recalled = [m.source_message_ids for m in asked.outcome.memories or []]
        assert [told.user_message_id] in recalled
    finally:
        services.close()
