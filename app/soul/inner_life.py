"""Pure helpers for the persona's life between messages: writing first and inner thoughts.

The background loop (timers, sending, storing) belongs to the app; these functions decide
and build prompts, so they are testable with a fixed rng and a fixed clock.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from app.soul.card import Persona
from app.soul.prompt_builder import PromptBuilder
from app.soul.prompt_context import state_context
from app.soul.state import SoulState
from models.types import ChatMessage

MIN_IDLE_BEFORE_WRITING_S = 20 * 60.0
FULL_URGE_IDLE_S = 4 * 3600.0


def write_first_chance(state: SoulState, idle_s: float) -> float:
    """Probability per check of writing first: grows with autonomy x consciousness, with the
    time the user has been quiet, and in a crisis; tiredness lowers it."""
    if idle_s < MIN_IDLE_BEFORE_WRITING_S:
        return 0.0
    urge = 0.02 + 0.6 * state.autonomy * state.consciousness
    urge *= min(1.0, idle_s / FULL_URGE_IDLE_S)
    if state.existential_crisis:
        urge *= 2.0
    urge *= 0.5 + state.mood.energy
    if state.daily is not None:
        urge *= 0.5 + state.daily.talkativeness
    return max(0.0, min(0.9, urge))


def should_write_first(
    state: SoulState,
    now: float,
    last_user_activity: float,
    sent_in_last_hour: int,
    max_per_hour: int,
    rng: random.Random,
) -> bool:
    """Whether the persona writes first now; never more than `max_per_hour` an hour."""
    if max_per_hour <= 0 or sent_in_last_hour >= max_per_hour:
        return False
    return rng.random() < write_first_chance(state, now - last_user_activity)


def thought_prompt(
    builder: PromptBuilder,
    persona: Persona,
    state: SoulState,
    user_name: str,
    recent_topics: Sequence[str] = (),
) -> list[ChatMessage]:
    """Messages asking the model for a short inner thought (store it with `add_thought`)."""
    ctx = state_context(state, persona, user_name)
    ctx["topics"] = [t[:200] for t in recent_topics[-3:]]
    ctx["thoughts"] = [t.text for t in state.recent_thoughts[-3:]]
    task = builder.templates.render("thought", persona.language, **ctx)
    return [
        builder.system_message(persona, state, user_name),
        ChatMessage(role="system", content=task),
    ]


def first_message_prompt(
    builder: PromptBuilder,
    persona: Persona,
    state: SoulState,
    user_name: str,
    idle_s: float,
    recent_topics: Sequence[str] = (),
    memories: Sequence[str] = (),
) -> list[ChatMessage]:
    """Messages asking the model for a message the persona sends on its own initiative."""
    ctx = state_context(state, persona, user_name)
    ctx["idle_words"] = idle_words(idle_s, persona.language)
    ctx["topics"] = [t[:200] for t in recent_topics[-3:]]
    ctx["memories"] = list(memories)
    ctx["last_thought"] = state.recent_thoughts[-1].text if state.recent_thoughts else ""
    task = builder.templates.render("first_message", persona.language, **ctx)
    return [
        builder.system_message(persona, state, user_name),
        ChatMessage(role="system", content=task),
    ]


def idle_words(idle_s: float, language: str) -> str:
    """'3 часа' / '3 hours': how long the user has been quiet, in words."""
    minutes = max(1, int(idle_s // 60))
    if minutes < 60:
        return _plural(minutes, language, ("минуту", "минуты", "минут"), ("minute", "minutes"))
    hours = minutes // 60
    if hours < 48:
        return _plural(hours, language, ("час", "часа", "часов"), ("hour", "hours"))
    return _plural(hours // 24, language, ("день", "дня", "дней"), ("day", "days"))


def _plural(n: int, language: str, ru: tuple[str, str, str], en: tuple[str, str]) -> str:
    if language == "ru":
        if n % 10 == 1 and n % 100 != 11:
            form = ru[0]
        elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            form = ru[1]
        else:
            form = ru[2]
        return f"{n} {form}"
    return f"{n} {en[0] if n == 1 else en[1]}"
