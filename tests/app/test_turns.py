"""The typed turn contract: hooks declare the slots they read and fill, and the order they
are registered in is checked once, where they are registered."""

from __future__ import annotations

import typing
from dataclasses import fields

import pytest

from app.composition import Services
from app.services.memory_turns import MemoryTurnHook
from app.services.soul_turns import SoulTurnHook
from app.services.turns import TurnContext, TurnHookOrderError, TurnHooks, TurnSlot


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
