"""Warm-up wiring (issue 12 item 1): the default persona's prompt prefix is warmed in the
background after start, a persona that becomes the default is warmed, an edited persona's
old prefix state is freed and the new one warmed; all only while the model is idle.

The scripted backend records the calls; the real model's warm-up (a warmed prefix makes the
first turn read only its own tokens) is the slow test at the end and
tests/models/test_prompt_cache.py."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from app.composition import Services
from app.soul.card import PersonaUpdate
from models.types import ChatMessage
from tests.app.fakes import services_with
from tests.app.test_scheduling import CountingBackend


class WarmingBackend(CountingBackend):
    def __init__(self) -> None:
        super().__init__()
        self.warmed: list[list[ChatMessage]] = []
        self.freed: list[list[ChatMessage] | None] = []
        self.calls = threading.Event()

    def warm_prefix(self, messages: list[ChatMessage]) -> bool:
        self.warmed.append(messages)
        self.calls.set()
        return True

    def invalidate(self, messages: list[ChatMessage] | None = None) -> int:
        self.freed.append(messages)
        return 1


def _wait_for(check: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _card(name: str, description: str) -> bytes:
    return json.dumps(
        {
            "spec": "chara_card_v2",
            "spec_version": "2.0",
            "data": {
                "name": name,
                "description": description,
                "personality": "calm",
                "first_mes": "Hello.",
                "mes_example": "",
                "scenario": "",
            },
        }
    ).encode()


def test_start_warms_the_default_personas_prefix_in_the_background(make_settings: Any) -> None:
    backend = WarmingBackend()
    services = services_with(make_settings(llm_preload=True, inner_life=False), backend)
    services.start_background()
    _wait_for(lambda: backend.warmed)
    prefix = backend.warmed[0]
    assert prefix[-1].cache == "prefix"  # ends where every new conversation's prompt diverges
    persona = services.soul.get_persona(services.defaults.persona)
    assert persona.name in prefix[0].content
    assert prefix == services.prefix_warmer.prefix(services.defaults.persona)
    services.close()


def test_warming_waits_while_people_talk(services_with_warming: tuple[Services, Any]) -> None:
    services, backend = services_with_warming

    async def busy() -> bool:
        holder = services.chat.scheduler.enter("scripted")
        try:
            return await asyncio.to_thread(services.prefix_warmer.warm_now, "chatumba")
        finally:
            services.chat.scheduler.leave(holder)

    assert asyncio.run(busy()) is False  # busy: try again later
    assert backend.warmed == []
    assert services.prefix_warmer.warm_now("chatumba") is True
    assert len(backend.warmed) == 1


def test_new_default_and_edited_persona_are_warmed_old_prefix_freed(
    services_with_warming: tuple[Services, Any],
) -> None:
    services, backend = services_with_warming
    warmer = services.prefix_warmer
    warmer.start()
    mine = services.soul.import_card(_card("Iris", "A gardener who loves ferns."), owner_id="u1")
    services.defaults.set_persona(mine.id)  # an admin makes it the default
    _wait_for(lambda: len(backend.warmed) == 1)
    old_prefix = backend.warmed[0]
    assert "ferns" in old_prefix[0].content

    services.soul.update_persona(mine.id, PersonaUpdate(description="A gardener of cacti."), "u1")
    _wait_for(lambda: len(backend.warmed) == 2)
    assert backend.freed == [old_prefix]  # the old state is freed (it can never be reused)
    assert "cacti" in backend.warmed[1][0].content and "ferns" not in backend.warmed[1][0].content

    # A persona never warmed (someone's own edit) costs nothing.
    other = services.soul.import_card(_card("Oak", "A quiet carpenter."), owner_id="u2")
    services.soul.update_persona(other.id, PersonaUpdate(description="A loud carpenter."), "u2")
    time.sleep(0.2)
    assert len(backend.warmed) == 2 and len(backend.freed) == 1


@pytest.fixture
def services_with_warming(make_settings: Any) -> Any:
    backend = WarmingBackend()
    services = services_with(make_settings(), backend)
    yield services, backend
    services.close()


@pytest.mark.slow
def test_real_model_first_turn_after_warm_up_reads_only_its_own_tokens(
    services: Services,
) -> None:
    backend = services.models.backend()
    backend.load()
    assert services.prefix_warmer.warm_now(services.defaults.persona)
    stats = backend.cache_stats()
    # made now, or found on disk: states live beside the model (shared by data folders,
    # keyed by model and exact tokens), so an earlier test may have made this one
    assert stats.prefix_states >= 1 and stats.prefixes_made <= 1
    prefix_tokens = backend.count_messages(services.prefix_warmer.prefix(services.defaults.persona))
    final = asyncio.run(services.chat.complete("u1", "Hi! How are you today?"))
    assert final.type == "done" and final.usage is not None
    # The persona prefix came from the saved state; the only state made is this user's
    # [persona prefix + today's temperament] (one per user and day).
    assert final.usage.cached_tokens >= prefix_tokens * 0.8
    made = backend.cache_stats().prefixes_made
    assert made <= stats.prefixes_made + 1
    # The same user's next new conversation starts after today's temperament too. (The
    # first turn may have found [prefix + day] on disk already, made by an earlier test for
    # the same user and day: then both read the same amount from the cache.)
    again = asyncio.run(services.chat.complete("u1", "Tell me something about owls."))
    assert again.type == "done" and again.usage is not None
    assert again.conversation_id != final.conversation_id
    assert again.usage.cached_tokens >= final.usage.cached_tokens
    assert again.usage.cached_tokens > prefix_tokens
    assert backend.cache_stats().prefixes_made == made
