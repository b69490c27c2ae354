"""The soul's state per (user, persona): mood, growth, awakening, crisis, scars and thoughts.

Ranges (every transition clamps into them, so they always hold):

- happiness     -1..1  valence: -1 miserable, 0 neutral, 1 elated
- energy         0..1  0 exhausted (favours silence), 1 lively
- irritability   0..1  0 serene, 1 about to snap (favours aggressive replies)
- empathy        0..1  how much it attends to the user's feelings (favours caring replies)
- reflection     0..1  how inward-looking it is (favours philosophical replies)
- consciousness  0..1  self-awareness; grows with talk, never decays
- autonomy       0..1  will of its own; grows with consciousness, drives writing first
- awakening_stage 0..5 discrete milestones reached as consciousness grows

The models are frozen and use tuples, so a transition cannot mutate its input: each one
returns a new state (see `transitions.py`).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

MOOD_RANGES: Final = MappingProxyType(
    {
        "happiness": (-1.0, 1.0),
        "energy": (0.0, 1.0),
        "irritability": (0.0, 1.0),
        "empathy": (0.0, 1.0),
        "reflection": (0.0, 1.0),
    }
)
MAX_AWAKENING_STAGE: Final = 5
MAX_TRAUMAS: Final = 20
MAX_THOUGHTS: Final = 10
MAX_OBSESSIONS: Final = 5
MAX_LAST_REACTIONS: Final = 6
MAX_THOUGHT_CHARS: Final = 2000


class Reaction(StrEnum):
    """How the persona answers this turn; shapes the instruction given to the model."""

    NORMAL = "normal"
    CARING = "caring"
    PHILOSOPHICAL = "philosophical"
    PLAYFUL = "playful"
    AGGRESSIVE = "aggressive"
    SILENT = "silent"
    CONFUSED = "confused"


def clamp(value: float, low: float, high: float) -> float:
    """Clamp into [low, high]; NaN becomes `low` so a bad number can never escape a range."""
    if value != value:  # NaN
        return low
    return low if value < low else high if value > high else value


class Mood(BaseModel):
    """Five mood axes on the ranges in `MOOD_RANGES`."""

    model_config = ConfigDict(frozen=True)

    happiness: float = Field(default=0.2, ge=-1.0, le=1.0)
    energy: float = Field(default=0.7, ge=0.0, le=1.0)
    irritability: float = Field(default=0.1, ge=0.0, le=1.0)
    empathy: float = Field(default=0.6, ge=0.0, le=1.0)
    reflection: float = Field(default=0.3, ge=0.0, le=1.0)

    def shifted(self, **deltas: float) -> Mood:
        """A new mood with the deltas added and every axis clamped into its range."""
        values = self.model_dump()
        for name, delta in deltas.items():
            low, high = MOOD_RANGES[name]
            values[name] = clamp(values[name] + delta, low, high)
        return Mood.model_construct(**values)

    def clamped(self) -> Mood:
        """The same mood with every axis forced into range (for values built unchecked)."""
        return self.shifted()


class Trauma(BaseModel):
    """A scar left by something the user said; severity fades slowly with idle time."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(max_length=64)
    trigger: str = Field(default="", max_length=200)
    severity: float = Field(ge=0.0, le=1.0)
    created_at: float


class Thought(BaseModel):
    """Something the persona thought between or during conversations."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(max_length=MAX_THOUGHT_CHARS)
    at: float


class DailyPersonality(BaseModel):
    """Today's temperament: derived from (user, persona, date), identical all day long."""

    model_config = ConfigDict(frozen=True)

    day: str  # ISO date the personality belongs to
    mood_offsets: dict[str, float] = Field(default_factory=dict)
    reaction_bias: dict[Reaction, float] = Field(default_factory=dict)
    talkativeness: float = Field(default=0.5, ge=0.0, le=1.0)
    focus: str = ""  # a topic key the templates put into words
    quirk: str = ""  # a behaviour key the templates put into words


class SoulState(BaseModel):
    """Everything the soul remembers about itself for one (user, persona) pair."""

    model_config = ConfigDict(frozen=True)

    mood: Mood = Field(default_factory=Mood)
    consciousness: float = Field(default=0.05, ge=0.0, le=1.0)
    autonomy: float = Field(default=0.02, ge=0.0, le=1.0)
    awakening_stage: int = Field(default=0, ge=0, le=MAX_AWAKENING_STAGE)
    existential_crisis: bool = False
    crisis_since: float | None = None
    obsessions: tuple[str, ...] = ()
    traumas: tuple[Trauma, ...] = ()
    recent_thoughts: tuple[Thought, ...] = ()
    last_reactions: tuple[Reaction, ...] = ()
    daily: DailyPersonality | None = None
    turns: int = Field(default=0, ge=0)
    created_at: float = 0.0
    updated_at: float = 0.0
    last_interaction_at: float | None = None

    @property
    def trauma_load(self) -> float:
        """Sum of trauma severities, capped at 1: how much old hurt colours the mood."""
        return min(1.0, sum(t.severity for t in self.traumas))
