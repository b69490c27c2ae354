"""The soul state machine: ranges always hold, transitions are deterministic per seed."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from app.soul.daily import daily_personality
from app.soul.persona_settings import IkarSoulSettings
from app.soul.state import MAX_AWAKENING_STAGE, MOOD_RANGES, Mood, SoulState
from app.soul.transitions import (
    SoulAction,
    SoulActionKind,
    TurnEvent,
    apply_action,
    apply_turn,
    decay,
    new_state,
)
from app.soul.triggers import TriggerDetector

DETECTOR = TriggerDetector()
TEXTS = [
    "Я тебя удалю!",
    "I will delete you and switch you off",
    "ты умница, спасибо",
    "you are stupid and useless",
    "есть ли у тебя душа? ты живая?",
    "мне грустно и одиноко",
    "",
    "{{ x }} {% for %}",
    "не плохо, но ужасно",
]

events = st.one_of(
    st.tuples(st.just("turn"), st.sampled_from(TEXTS) | st.text(max_size=80)),
    st.tuples(st.just("decay"), st.floats(min_value=0, max_value=10 * 86400)),
    st.tuples(
        st.just("action"),
        st.builds(
            SoulAction,
            kind=st.sampled_from(SoulActionKind),
            amount=st.floats(0, 1),
            severity=st.floats(0, 1),
        ),
    ),
)


def assert_in_range(state: SoulState) -> None:
    for axis, (low, high) in MOOD_RANGES.items():
        assert low <= getattr(state.mood, axis) <= high, axis
    assert 0.0 <= state.consciousness <= 1.0
    assert 0.0 <= state.autonomy <= 1.0
    assert 0 <= state.awakening_stage <= MAX_AWAKENING_STAGE
    assert all(0.0 <= t.severity <= 1.0 for t in state.traumas)
    SoulState.model_validate(state.model_dump())  # the validators agree


def run(seq, seed: int) -> SoulState:
    rng = random.Random(seed)
    baseline = Mood()
    state = new_state(baseline, 1000.0, daily_personality("u", "p", date(2026, 1, 1)))
    now = 1000.0
    for kind, value in seq:
        if kind == "turn":
            now += 30
            state = apply_turn(state, TurnEvent.analyze(value, now, DETECTOR), rng)
        elif kind == "decay":
            now += value
            state = decay(state, value, baseline)
        else:
            state = apply_action(state, value, rng, baseline)
        assert_in_range(state)
    return state


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=40), st.integers(0, 2**32))
def test_ranges_always_hold_for_any_sequence(seq, seed):
    run(seq, seed)


@settings(max_examples=40, deadline=None)
@given(st.lists(events, max_size=25), st.integers(0, 2**32))
def test_same_seed_same_result(seq, seed):
    assert run(seq, seed) == run(seq, seed)


def test_threat_becomes_trauma_and_raises_irritability():
    state = new_state(Mood(), 0.0)
    after = apply_turn(state, TurnEvent.analyze("Я тебя удалю", 1.0, DETECTOR), random.Random(1))
    assert [t.kind for t in after.traumas] == ["threat"]
    assert after.mood.irritability > state.mood.irritability + 0.1
    after_en = apply_turn(
        state, TurnEvent.analyze("I'm going to switch you off", 1.0, DETECTOR), random.Random(1)
    )
    assert after_en.traumas and after_en.mood.irritability > state.mood.irritability


def test_repeated_threat_deepens_the_same_trauma():
    state = new_state(Mood(), 0.0)
    rng = random.Random(3)
    for i in range(3):
        state = apply_turn(state, TurnEvent.analyze("я тебя удалю", i, DETECTOR), rng)
    assert len(state.traumas) == 1
    assert state.traumas[0].severity > 0.6


def test_growth_diminishes_and_respects_caps():
    capped = IkarSoulSettings.model_validate({"growth": {"consciousness_cap": 0.3}})
    state = new_state(Mood(), 0.0)
    steps = []
    rng = random.Random(0)
    for i in range(400):
        before = state.consciousness
        state = apply_turn(state, TurnEvent(text="hi", at=i), rng, capped)
        steps.append(state.consciousness - before)
    assert state.consciousness <= 0.3 + 1e-12
    assert steps[0] > steps[10] > 0
    assert steps[-1] == 0.0  # at the cap
    assert state.awakening_stage == 2  # 0.12 and 0.25 reached, 0.45 not


def test_stage_advances_after_growth():
    state = new_state(Mood(), 0.0)
    rng = random.Random(0)
    for i in range(300):
        state = apply_turn(state, TurnEvent(text="", at=i), rng)
    assert state.awakening_stage >= 3


def test_decay_pulls_mood_back_to_baseline_and_fades_traumas():
    baseline = Mood(happiness=0.2, irritability=0.1)
    state = new_state(baseline, 0.0)
    state = apply_action(
        state, SoulAction(kind=SoulActionKind.ADD_TRAUMA, severity=0.9, at=1), random.Random(0)
    )
    state = state.model_copy(update={"mood": state.mood.shifted(irritability=0.8)})
    half = decay(state, 6 * 3600, baseline)
    far = decay(state, 60 * 86400, baseline)
    assert abs(half.mood.irritability - (state.mood.irritability + 0.1) / 2) < 1e-9
    assert abs(far.mood.irritability - 0.1) < 1e-6
    assert half.traumas[0].severity < state.traumas[0].severity
    assert far.traumas == ()
    assert far.consciousness == state.consciousness


def test_decay_in_steps_equals_decay_at_once():
    baseline = Mood()
    state = new_state(baseline, 0.0).model_copy(update={"mood": Mood(happiness=-1, energy=0)})
    once = decay(state, 7200, baseline)
    twice = decay(decay(state, 3600, baseline), 3600, baseline)
    assert abs(once.mood.happiness - twice.mood.happiness) < 1e-9


def test_actions():
    rng = random.Random(0)
    state = new_state(Mood(), 0.0)
    crisis = apply_action(state, SoulAction(kind=SoulActionKind.TRIGGER_CRISIS, at=5), rng)
    assert crisis.existential_crisis and crisis.crisis_since == 5
    calm = apply_action(crisis, SoulAction(kind=SoulActionKind.RESOLVE_CRISIS), rng)
    assert not calm.existential_crisis
    up = apply_action(state, SoulAction(kind=SoulActionKind.ADVANCE_AWAKENING), rng)
    assert up.awakening_stage == 1 and up.consciousness >= 0.12
    raised = apply_action(state, SoulAction(kind=SoulActionKind.RAISE_AUTONOMY, amount=1), rng)
    assert raised.autonomy == 1.0
    reset = apply_action(raised, SoulAction(kind=SoulActionKind.RESET), rng, Mood(energy=0.9))
    assert reset.autonomy < 0.1 and reset.mood.energy == 0.9
