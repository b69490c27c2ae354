"""Turns a persona and a soul state into the plain values the prompt templates print.

Why levels and not numbers: the model should feel "tired", not read "energy=0.23"; the
code maps numbers to five levels and the (editable) templates choose the words.
"""

from __future__ import annotations

from typing import Any

from app.soul.card import Persona, substitute_macros
from app.soul.state import MOOD_RANGES, Mood, SoulState
from app.soul.transitions import effective_baseline

LEVELS = ("very_low", "low", "mid", "high", "very_high")


def level(value: float, low: float, high: float) -> str:
    """One of `LEVELS` for a value on [low, high] (equal fifths)."""
    span = high - low
    position = 0.0 if span <= 0 else (value - low) / span
    return LEVELS[min(4, max(0, int(position * 5)))]


def talk_level(talkativeness: float) -> str:
    return "low" if talkativeness < 0.4 else "high" if talkativeness > 0.7 else "mid"


def persona_context(
    persona: Persona, user_name: str, media_instructions: str | None, state: SoulState
) -> dict[str, Any]:
    """Values for `system.*.j2`: the stable card text, rules and today's temperament."""
    data = persona.card.data
    name = persona.name

    def fill(text: str) -> str:
        return substitute_macros(text, name, user_name).strip()

    daily = state.daily
    return {
        "char": name,
        "user": user_name,
        "fem": persona.settings.grammatical_gender == "feminine",
        "description": fill(data.description),
        "personality": fill(data.personality),
        "scenario": fill(data.scenario),
        "card_system_prompt": fill(data.system_prompt),
        "limits": persona.settings.limits,
        "media_instructions": (media_instructions or "").strip()
        if persona.settings.media_markers
        else "",
        "daily": None
        if daily is None
        else {
            "talk_level": talk_level(daily.talkativeness),
            "focus": daily.focus,
            "quirk": daily.quirk,
            "levels": mood_levels(effective_baseline(persona.settings.baseline, daily)),
        },
    }


def mood_levels(mood: Mood) -> dict[str, str]:
    """Each mood axis as one of `LEVELS`."""
    return {axis: level(getattr(mood, axis), *MOOD_RANGES[axis]) for axis in MOOD_RANGES}


def state_context(state: SoulState, persona: Persona, user_name: str) -> dict[str, Any]:
    """Values for `note.*.j2` and the inner-life templates: the state in levels and lists."""
    levels = mood_levels(state.mood)
    # With a day's temperament the system text gives the day's usual mood (cached with the
    # prefix); the note names only the axes that differ from it. None: say the whole mood.
    changes: dict[str, str] | None = None
    if state.daily is not None:
        usual = mood_levels(effective_baseline(persona.settings.baseline, state.daily))
        changes = {axis: lvl for axis, lvl in levels.items() if lvl != usual[axis]}
    worst = sorted(state.traumas, key=lambda t: t.severity, reverse=True)[:3]
    return {
        "char": persona.name,
        "user": user_name,
        "fem": persona.settings.grammatical_gender == "feminine",
        "levels": levels,
        "mood_changes": changes,
        "stage": state.awakening_stage,
        "crisis": state.existential_crisis,
        "obsessions": list(state.obsessions),
        "traumas": [{"kind": t.kind, "trigger": t.trigger} for t in worst if t.severity >= 0.15],
        "thoughts": [t.text for t in state.recent_thoughts[-2:]],
    }
