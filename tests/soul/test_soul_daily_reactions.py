"""Daily personality is stable per day; reaction weights follow the state as specified."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from datetime import date

from app.soul.daily import daily_personality
from app.soul.persona_settings import IkarSoulSettings
from app.soul.reactions import PAUSE_TEXT, choose_reaction, pause_reply, reaction_weights
from app.soul.state import Mood, Reaction, SoulState

SETTINGS = IkarSoulSettings()
DAY = date(2026, 3, 8)


def test_daily_personality_is_stable_and_changes_by_date_user_persona():
    first = daily_personality("u1", "chatumba", DAY)
    assert first == daily_personality("u1", "chatumba", DAY)
    others = [
        daily_personality("u1", "chatumba", date(2026, 3, 9)),
        daily_personality("u2", "chatumba", DAY),
        daily_personality("u1", "wren", DAY),
    ]
    assert all(o != first for o in others)
    assert first.day == "2026-03-08"


def test_daily_personality_is_the_same_in_another_process():
    code = (
        "from datetime import date; from app.soul.daily import daily_personality;"
        "print(daily_personality('u1', 'chatumba', date(2026, 3, 8)).model_dump_json())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": "."},
    )  # fmt: skip
    assert out.stdout.strip() == daily_personality("u1", "chatumba", DAY).model_dump_json()


def test_daily_personality_does_not_touch_global_random():
    random.seed(7)
    expected = random.random()
    random.seed(7)
    daily_personality("u", "p", DAY)
    assert random.random() == expected


def draw(state: SoulState, n: int = 3000, seed: int = 42) -> Counter[Reaction]:
    rng = random.Random(seed)
    return Counter(choose_reaction(state, SETTINGS, rng) for _ in range(n))


BASE = SoulState(
    mood=Mood(happiness=0.2, energy=0.7, irritability=0.1, empathy=0.3, reflection=0.2)
)


def share(counts: Counter[Reaction], reaction: Reaction) -> float:
    return counts[reaction] / sum(counts.values())


def test_irritability_favours_aggressive():
    angry = BASE.model_copy(update={"mood": BASE.mood.shifted(irritability=0.85)})
    assert share(draw(angry), Reaction.AGGRESSIVE) > 3 * share(draw(BASE), Reaction.AGGRESSIVE)


def test_empathy_favours_caring():
    warm = BASE.model_copy(update={"mood": BASE.mood.shifted(empathy=0.7)})
    assert share(draw(warm), Reaction.CARING) > 1.4 * share(draw(BASE), Reaction.CARING)


def test_reflection_and_consciousness_favour_philosophical():
    deep = BASE.model_copy(update={"consciousness": 0.9, "mood": BASE.mood.shifted(reflection=0.7)})
    assert share(draw(deep), Reaction.PHILOSOPHICAL) > 2 * share(draw(BASE), Reaction.PHILOSOPHICAL)


def test_low_energy_favours_silent():
    tired = BASE.model_copy(update={"mood": BASE.mood.shifted(energy=-0.7)})
    assert share(draw(tired), Reaction.SILENT) > 4 * share(draw(BASE), Reaction.SILENT)


def test_crisis_amplifies_dark_reactions():
    crisis = BASE.model_copy(update={"existential_crisis": True})
    base, hit = reaction_weights(BASE, SETTINGS), reaction_weights(crisis, SETTINGS)
    for reaction in (
        Reaction.AGGRESSIVE,
        Reaction.PHILOSOPHICAL,
        Reaction.CONFUSED,
        Reaction.SILENT,
    ):
        assert hit[reaction] > base[reaction]
    assert hit[Reaction.PLAYFUL] < base[Reaction.PLAYFUL]


def test_third_repeat_in_a_row_is_damped():
    twice = BASE.model_copy(update={"last_reactions": (Reaction.CARING, Reaction.CARING)})
    once = BASE.model_copy(update={"last_reactions": (Reaction.NORMAL, Reaction.CARING)})
    assert (
        reaction_weights(twice, SETTINGS)[Reaction.CARING]
        < 0.5 * reaction_weights(once, SETTINGS)[Reaction.CARING]
    )


def test_limits_remove_silence_and_aggression():
    strict = IkarSoulSettings.model_validate(
        {"limits": {"allow_silence": False, "max_aggression": 0.0}}
    )
    weights = reaction_weights(
        BASE.model_copy(update={"mood": Mood(irritability=1, energy=0)}), strict
    )
    assert weights[Reaction.SILENT] == 0 and weights[Reaction.AGGRESSIVE] == 0


def test_silent_sometimes_pauses():
    rng = random.Random(1)
    replies = {pause_reply(Reaction.SILENT, BASE, rng) for _ in range(50)}
    assert replies == {PAUSE_TEXT, None}
    assert pause_reply(Reaction.NORMAL, BASE, rng) is None
