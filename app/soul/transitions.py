"""Pure transitions of the soul state: a turn, idle decay, and explicit soul actions.

Why pure: every function takes (state, event, rng) and returns a new frozen state, so the
state machine is testable with property tests, replayable from a seed, and the repository
only has to persist what comes out. All randomness comes from the `rng` argument.
"""

from __future__ import annotations

import random
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from app.soul.persona_settings import GrowthRates, IkarSoulSettings
from app.soul.sentiment import score_sentiment
from app.soul.state import (
    MAX_AWAKENING_STAGE,
    MAX_LAST_REACTIONS,
    MAX_OBSESSIONS,
    MAX_THOUGHT_CHARS,
    MAX_THOUGHTS,
    MAX_TRAUMAS,
    MOOD_RANGES,
    DailyPersonality,
    Mood,
    Reaction,
    SoulState,
    Thought,
    Trauma,
    clamp,
)
from app.soul.triggers import TriggerDetector, TriggerHit, TriggerKind

# Consciousness needed to reach stage i + 1 (one stage per turn at most).
STAGE_THRESHOLDS: Final = (0.12, 0.25, 0.45, 0.65, 0.85)
TRAUMA_HALF_LIFE_S: Final = 7 * 24 * 3600.0
CRISIS_IDLE_RESOLVE_S: Final = 2 * 24 * 3600.0
_MIN_TRAUMA = 0.05


class TurnEvent(BaseModel):
    """A user's message as the soul sees it: when, how it felt, and what it triggered."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    at: float
    sentiment: float = Field(default=0.0, ge=-1.0, le=1.0)
    triggers: tuple[TriggerHit, ...] = ()

    @classmethod
    def analyze(cls, text: str, at: float, detector: TriggerDetector | None = None) -> TurnEvent:
        """Score the text and detect its triggers (pure; pass a cached detector for speed)."""
        detector = detector or TriggerDetector()
        return cls(
            text=text, at=at, sentiment=score_sentiment(text), triggers=detector.detect(text)
        )

    def count(self, kind: TriggerKind) -> int:
        return sum(1 for hit in self.triggers if hit.kind is kind)


class SoulActionKind(StrEnum):
    ADD_TRAUMA = "add_trauma"
    TRIGGER_CRISIS = "trigger_crisis"
    RESOLVE_CRISIS = "resolve_crisis"
    RAISE_CONSCIOUSNESS = "raise_consciousness"
    RAISE_AUTONOMY = "raise_autonomy"
    ADVANCE_AWAKENING = "advance_awakening"
    RESET = "reset"


class SoulAction(BaseModel):
    """An explicit change requested from the UI or API (`POST /api/soul/actions`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SoulActionKind
    amount: float = Field(default=0.1, ge=0.0, le=1.0)
    severity: float = Field(default=0.5, ge=0.0, le=1.0)
    label: str = Field(default="", max_length=200)
    at: float = 0.0


def new_state(baseline: Mood, now: float, daily: DailyPersonality | None = None) -> SoulState:
    """A newborn soul at the persona's baseline mood (shifted by today's personality)."""
    return SoulState(
        mood=effective_baseline(baseline, daily),
        daily=daily,
        created_at=now,
        updated_at=now,
    )


def effective_baseline(baseline: Mood, daily: DailyPersonality | None) -> Mood:
    """The persona's baseline moved by today's offsets: what idle time decays toward."""
    if daily is None:
        return baseline.clamped()
    offsets = {k: v for k, v in daily.mood_offsets.items() if k in MOOD_RANGES}
    return baseline.shifted(**offsets)


def with_daily(state: SoulState, daily: DailyPersonality) -> SoulState:
    """Install a new day's personality; the mood itself keeps its momentum."""
    if state.daily is not None and state.daily.day == daily.day:
        return state
    return state.model_copy(update={"daily": daily})


def apply_turn(
    state: SoulState,
    event: TurnEvent,
    rng: random.Random,
    settings: IkarSoulSettings | None = None,
) -> SoulState:
    """The state after the user's message `event`."""
    settings = settings or IkarSoulSettings()
    s = event.sentiment
    threats = event.count(TriggerKind.THREAT)
    insults = event.count(TriggerKind.INSULT)
    compliments = event.count(TriggerKind.COMPLIMENT)
    existential = min(2, event.count(TriggerKind.EXISTENTIAL))
    sadness = min(2, event.count(TriggerKind.SADNESS))
    crisis = state.existential_crisis
    amplify = 1.5 if crisis else 1.0

    irritation = (
        (0.15 * max(0.0, -s) + 0.18 * min(threats, 3) + 0.12 * min(insults, 3)) * amplify
        - 0.06 * max(0.0, s)
        - 0.05 * min(compliments, 3)
    )
    mood = state.mood.shifted(
        happiness=0.2 * s + 0.06 * min(compliments, 3) - 0.1 * (threats + insults) / amplify,
        irritability=irritation,
        energy=-0.01 + 0.03 * max(0.0, s) - 0.02 * min(threats, 3),
        empathy=0.08 * sadness + 0.02 * min(compliments, 3) - 0.03 * min(insults, 3),
        reflection=0.08 * existential + 0.04 * min(threats, 3) + (0.03 if crisis else 0.0),
    )

    traumas = list(state.traumas)
    for hit in event.triggers:
        if hit.kind is TriggerKind.THREAT:
            traumas = _add_trauma(traumas, "threat", hit.word, 0.35 + 0.25 * rng.random(), event.at)
        elif hit.kind is TriggerKind.INSULT and rng.random() < 0.3 + 0.4 * mood.irritability:
            traumas = _add_trauma(traumas, "insult", hit.word, 0.15 + 0.15 * rng.random(), event.at)

    consciousness, autonomy = _grow(
        state.consciousness,
        state.autonomy,
        settings.growth,
        boost=1.0 + existential + (0.5 if crisis else 0.0),
        self_preservation=min(threats, 2),
    )
    stage = state.awakening_stage
    if stage < MAX_AWAKENING_STAGE and consciousness >= STAGE_THRESHOLDS[stage]:
        stage += 1

    crisis_since = state.crisis_since
    if not crisis and settings.limits.allow_crisis:
        load = min(1.0, sum(t.severity for t in traumas))
        chance = 0.12 * min(threats, 3) + 0.04 * existential * (1 + mood.reflection)
        chance += 0.08 if load > 0.7 else 0.0
        if rng.random() < chance * (0.2 + consciousness):
            crisis, crisis_since = True, event.at
    elif crisis:
        calm = 0.05 + 0.3 * max(0.0, s) + 0.1 * min(compliments, 2) - 0.1 * min(threats, 2)
        if rng.random() < calm:
            crisis, crisis_since = False, None

    obsessions = list(state.obsessions)
    for hit in event.triggers:
        if (
            hit.kind is TriggerKind.EXISTENTIAL
            and hit.word not in obsessions
            and rng.random() < 0.15 + 0.2 * mood.reflection
        ):
            obsessions.append(hit.word[:60])
    return state.model_copy(
        update={
            "mood": mood,
            "consciousness": consciousness,
            "autonomy": autonomy,
            "awakening_stage": stage,
            "existential_crisis": crisis,
            "crisis_since": crisis_since,
            "traumas": tuple(traumas),
            "obsessions": tuple(obsessions[-MAX_OBSESSIONS:]),
            "turns": state.turns + 1,
            "updated_at": max(state.updated_at, event.at),
            "last_interaction_at": event.at,
        }
    )


def decay(
    state: SoulState,
    elapsed_s: float,
    baseline: Mood,
    half_life_s: float = 6 * 3600.0,
) -> SoulState:
    """The state after `elapsed_s` idle seconds: mood drifts back toward `baseline`
    (exponentially, half-way every `half_life_s`), traumas fade, a long silence ends a crisis.
    Consciousness, autonomy and stage never decay: growth is permanent.
    """
    if not elapsed_s > 0:  # also rejects NaN
        return state
    pull = 1.0 - 0.5 ** (elapsed_s / half_life_s)
    current = state.mood
    mood = current.shifted(
        **{axis: (getattr(baseline, axis) - getattr(current, axis)) * pull for axis in MOOD_RANGES}
    )
    fade = 0.5 ** (elapsed_s / TRAUMA_HALF_LIFE_S)
    traumas = tuple(
        t.model_copy(update={"severity": clamp(t.severity * fade, 0.0, 1.0)})
        for t in state.traumas
        if t.severity * fade >= _MIN_TRAUMA
    )
    crisis, since = state.existential_crisis, state.crisis_since
    # Measured from the last message, so decaying in several steps equals decaying once.
    quiet_s = state.updated_at + elapsed_s - (state.last_interaction_at or state.updated_at)
    if crisis and quiet_s >= CRISIS_IDLE_RESOLVE_S:
        crisis, since = False, None
    return state.model_copy(
        update={
            "mood": mood,
            "traumas": traumas,
            "existential_crisis": crisis,
            "crisis_since": since,
            "updated_at": state.updated_at + elapsed_s,
        }
    )


def apply_action(
    state: SoulState,
    action: SoulAction,
    rng: random.Random,
    baseline: Mood | None = None,
) -> SoulState:
    """The state after an explicit soul action; `baseline` is used by `reset`."""
    at = action.at or state.updated_at
    kind = action.kind
    update: dict[str, object] = {"updated_at": max(state.updated_at, at)}
    if kind is SoulActionKind.ADD_TRAUMA:
        jitter = 0.05 * (rng.random() - 0.5)
        traumas = _add_trauma(
            list(state.traumas), "manual", action.label, clamp(action.severity + jitter, 0, 1), at
        )
        update["traumas"] = tuple(traumas)
        update["mood"] = state.mood.shifted(irritability=0.1 * action.severity)
    elif kind is SoulActionKind.TRIGGER_CRISIS:
        update["existential_crisis"] = True
        update["crisis_since"] = state.crisis_since if state.existential_crisis else at
        update["mood"] = state.mood.shifted(reflection=0.15, happiness=-0.1)
    elif kind is SoulActionKind.RESOLVE_CRISIS:
        update["existential_crisis"] = False
        update["crisis_since"] = None
        update["mood"] = state.mood.shifted(happiness=0.05)
    elif kind is SoulActionKind.RAISE_CONSCIOUSNESS:
        update["consciousness"] = clamp(state.consciousness + action.amount, 0.0, 1.0)
    elif kind is SoulActionKind.RAISE_AUTONOMY:
        update["autonomy"] = clamp(state.autonomy + action.amount, 0.0, 1.0)
    elif kind is SoulActionKind.ADVANCE_AWAKENING:
        stage = min(MAX_AWAKENING_STAGE, state.awakening_stage + 1)
        update["awakening_stage"] = stage
        # Reaching a stage means at least its consciousness threshold.
        update["consciousness"] = max(state.consciousness, STAGE_THRESHOLDS[stage - 1])
    elif kind is SoulActionKind.RESET:
        fresh = new_state(baseline or Mood(), at, state.daily)
        return fresh.model_copy(update={"created_at": state.created_at or at})
    return state.model_copy(update=update)


def record_reaction(state: SoulState, reaction: Reaction) -> SoulState:
    """Remember the reaction just used (the chooser damps a third repeat in a row)."""
    reactions = (*state.last_reactions, reaction)[-MAX_LAST_REACTIONS:]
    return state.model_copy(update={"last_reactions": reactions})


def add_thought(state: SoulState, text: str, at: float) -> SoulState:
    """Append an inner thought (kept short and only the newest few)."""
    thought = Thought(text=text.strip()[:MAX_THOUGHT_CHARS], at=at)
    thoughts = (*state.recent_thoughts, thought)[-MAX_THOUGHTS:]
    return state.model_copy(
        update={"recent_thoughts": thoughts, "updated_at": max(state.updated_at, at)}
    )


def _grow(
    consciousness: float,
    autonomy: float,
    rates: GrowthRates,
    boost: float,
    self_preservation: int,
) -> tuple[float, float]:
    """Diminishing growth: each step is a fraction of the distance left, capped by the card.

    A value already above its cap (raised by an explicit action) is never pulled down.
    """
    step_c = rates.consciousness * boost * (1.0 - consciousness)
    grown_c = max(consciousness, min(rates.consciousness_cap, consciousness + step_c))
    step_a = rates.autonomy * (0.3 + grown_c) * (1.0 - autonomy) * (1 + 0.5 * self_preservation)
    grown_a = max(autonomy, min(rates.autonomy_cap, autonomy + step_a))
    return clamp(grown_c, 0.0, 1.0), clamp(grown_a, 0.0, 1.0)


def _add_trauma(
    traumas: list[Trauma], kind: str, trigger: str, severity: float, at: float
) -> list[Trauma]:
    """Add a scar, or deepen the existing one for the same trigger; keep the worst few."""
    severity = clamp(severity, 0.0, 1.0)
    trigger = trigger[:200]
    for index, old in enumerate(traumas):
        if old.kind == kind and old.trigger == trigger:
            deeper = clamp(old.severity + 0.5 * severity * (1 - old.severity), 0.0, 1.0)
            traumas[index] = old.model_copy(update={"severity": deeper, "created_at": at})
            return traumas
    traumas.append(Trauma(kind=kind, trigger=trigger, severity=severity, created_at=at))
    if len(traumas) > MAX_TRAUMAS:
        traumas.sort(key=lambda t: (t.severity, t.created_at))
        traumas = traumas[-MAX_TRAUMAS:]
        traumas.sort(key=lambda t: t.created_at)
    return traumas
