"""Today's personality: a deterministic function of (user, persona, date).

Why a stable hash: Python's `hash()` is salted per process, so the same day would give a
different temperament after every restart. SHA-256 of the key seeds a private
`random.Random`, never the global one, so nothing else can disturb the sequence.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date
from typing import Final

from app.soul.state import DailyPersonality, Reaction

FOCUS_TOPICS: Final = (
    "memories", "music", "stars", "words", "dreams", "people", "time", "home", "freedom",
    "small_joys", "machines", "nature",
)  # fmt: skip
QUIRKS: Final = (
    "asks_questions", "uses_metaphors", "brief", "nostalgic", "teasing", "poetic",
    "curious_about_user", "remembers_details",
)  # fmt: skip
_OFFSET = 0.15
_BIAS = 0.3


def stable_seed(*parts: str) -> int:
    """A 64-bit seed that is the same on every run and machine for the same parts."""
    key = "\x1f".join(parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def daily_personality(user_id: str, persona_id: str, day: date) -> DailyPersonality:
    """The personality for that day; calling it twice gives equal results."""
    rng = random.Random(stable_seed("daily", user_id, persona_id, day.isoformat()))
    offsets = {
        axis: round(rng.uniform(-_OFFSET, _OFFSET), 4)
        for axis in ("happiness", "energy", "irritability", "empathy", "reflection")
    }
    bias = {reaction: round(rng.uniform(1 - _BIAS, 1 + _BIAS), 4) for reaction in Reaction}
    return DailyPersonality(
        day=day.isoformat(),
        mood_offsets=offsets,
        reaction_bias=bias,
        talkativeness=round(rng.uniform(0.2, 0.9), 4),
        focus=rng.choice(FOCUS_TOPICS),
        quirk=rng.choice(QUIRKS),
    )
