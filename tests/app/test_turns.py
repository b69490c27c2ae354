"""The typed turn contract: hooks declare the slots they read and fill, and the order they
are registered in is checked once, where they are registered."""

from __future__ import annotations

import asyncio
import typing
from dataclasses import fields

import pytest

from app.composition import Services
from app.services.memory_turns import MemoryTurnHook
from app.services.soul_turns import SoulTurnHook
from app.services.turns import TurnContext, TurnHookOrderError, TurnHooks, TurnSlot
from app.storage.records import Message
from tests.app.fakes import ScriptedBackend, use_scripted


def test_every_slot_is_a_field_of_the_turn() -> None:
    names = {f.name for f in fields(TurnContext)}
    assert set(typing.get_args(TurnSlot)) <= names


def test_the_registered_order_satisfies_every_hook(services: Services) -> None:
    hooks = list(services.chat.hooks)
    assert [type(h).__name__ for h in hooks] == ["SoulTurnHook", "MemoryTurnHook", "MediaTurnHook"]
    TurnHooks(hooks, services.prompts)  # the order the composition root declares is valid


def test_a_hook_registered_before_the_one_it_needs_is_refused(services: Services) -> None:
    soul, memory, media = list(services.chat.hooks)
    assert isinstance(soul, SoulTurnHook) and isinstance(memory, MemoryTurnHook)
    with pytest.raises(TurnHookOrderError, match="MemoryTurnHook needs persona_id"):
        TurnHooks([memory, soul, media])
    with pytest.raises(TurnHookOrderError, match="SoulPromptAssembler needs soul"):
        TurnHooks([], services.prompts)


class _ProfileHook:
    """What the core-memory profile will do: put facts about the user into the turn."""

    requires: frozenset[TurnSlot] = frozenset()
    provides: frozenset[TurnSlot] = frozenset({"profile"})

    def before_prompt(self, ctx: TurnContext) -> None:
        ctx.profile = ["The user's name is Marta; she keeps bees."]

    def transform_reply(self, ctx: TurnContext, reply: str) -> str:
        return reply

    def after_reply(self, ctx: TurnContext, reply: Message) -> None:
        return None


def test_a_new_hook_fills_its_slot_and_the_prompt_carries_it(services: Services) -> None:
    backend = ScriptedBackend(words=["Hi Marta"])
    use_scripted(services, backend)
    services.chat.hooks = TurnHooks([*services.chat.hooks, _ProfileHook()], services.prompts)
    done = asyncio.run(services.chat.complete("u1", "Who am I?"))
    assert done.type == "done" and done.outcome is not None
    assert done.outcome.reaction and done.outcome.soul is not None
    assert done.outcome.prompt is not None and done.outcome.prompt.tokens > 0
    prompt_text = "\n".join(m.content for m in backend.prompts[-1])
    assert "she keeps bees" in prompt_text
