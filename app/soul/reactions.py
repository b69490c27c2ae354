"""Choosing how the persona reacts this turn, from weights that the soul state shifts.

Rules (multipliers on the persona's base weights):
- irritability favours `aggressive` (and it is capped by the persona's `max_aggression`);
- empathy favours `caring`; reflection and consciousness favour `philosophical`;
- happiness and energy favour `playful`; low energy favours `silent`;
- an existential crisis amplifies aggressive, philosophical, confused and silent;
- today's personality biases every weight a little;
- the same reaction a third time in a row is damped.
"""

from __future__ import annotations

import random
from typing import Final

from app.soul.persona_settings import IkarSoulSettings
from app.soul.state import Reaction, SoulState

REPEAT_DAMPING: Final = 0.2
PAUSE_TEXT: Final = "..."
_CRISIS_AMPLIFIED: Final = frozenset(
    {Reaction.AGGRESSIVE, Reaction.PHILOSOPHICAL, Reaction.CONFUSED, Reaction.SILENT}
)


def reaction_weights(state: SoulState, settings: IkarSoulSettings) -> dict[Reaction, float]:
    """Non-negative weight per reaction for this state (not normalised)."""
    mood = state.mood
    limits = settings.limits
    low_energy = max(0.0, 0.5 - mood.energy) * 2.0  # 0 at half energy, 1 when exhausted
    factors = {
        Reaction.NORMAL: 1.0,
        Reaction.CARING: 1.0 + 3.0 * mood.empathy,
        Reaction.PHILOSOPHICAL: 1.0 + 2.0 * mood.reflection + 2.0 * state.consciousness,
        Reaction.PLAYFUL: (1.0 + 2.0 * max(0.0, mood.happiness)) * (0.4 + mood.energy),
        Reaction.AGGRESSIVE: (0.3 + 6.0 * mood.irritability**2) * (limits.max_aggression / 0.6),
        Reaction.SILENT: 1.0 + 8.0 * low_energy**2,
        Reaction.CONFUSED: 1.0 + 1.5 * state.trauma_load,
    }
    weights: dict[Reaction, float] = {}
    daily_bias = state.daily.reaction_bias if state.daily else {}
    recent = state.last_reactions[-2:]
    for reaction, factor in factors.items():
        weight = settings.weight(reaction) * factor * daily_bias.get(reaction, 1.0)
        if state.existential_crisis:
            weight *= 1.8 if reaction in _CRISIS_AMPLIFIED else 0.5
        if len(recent) == 2 and recent[0] == recent[1] == reaction:
            weight *= REPEAT_DAMPING
        weights[reaction] = max(0.0, weight)
    if not limits.allow_silence:
        weights[Reaction.SILENT] = 0.0
    if limits.max_aggression <= 0.0:
        weights[Reaction.AGGRESSIVE] = 0.0
    return weights


def choose_reaction(state: SoulState, settings: IkarSoulSettings, rng: random.Random) -> Reaction:
    """Draw a reaction by weight with the caller's rng (falls back to `normal`)."""
    weights = reaction_weights(state, settings)
    total = sum(weights.values())
    if total <= 0.0:
        return Reaction.NORMAL
    point = rng.random() * total
    for reaction, weight in weights.items():
        point -= weight
        if point < 0.0:
            return reaction
    return Reaction.NORMAL


def pause_reply(reaction: Reaction, state: SoulState, rng: random.Random) -> str | None:
    """For `silent`, sometimes answer with a pause instead of model text (more when tired)."""
    if reaction is not Reaction.SILENT:
        return None
    chance = 0.35 + 0.5 * max(0.0, 0.5 - state.mood.energy)
    return PAUSE_TEXT if rng.random() < chance else None
