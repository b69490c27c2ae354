"""IKAR's own soul parameters for a persona, stored in a card under `data.extensions.ikar`.

Why inside the card: a persona travels as one file between IKAR installs (and through other
card tools, which keep unknown extensions), so its temperament travels with it.
"""

from __future__ import annotations

import unicodedata
from types import MappingProxyType
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.soul.state import Mood, Reaction

DEFAULT_REACTION_WEIGHTS: Final = MappingProxyType(
    {
        Reaction.NORMAL: 1.0,
        Reaction.CARING: 0.5,
        Reaction.PHILOSOPHICAL: 0.35,
        Reaction.PLAYFUL: 0.5,
        Reaction.AGGRESSIVE: 0.12,
        Reaction.SILENT: 0.08,
        Reaction.CONFUSED: 0.15,
    }
)


class TriggerWords(BaseModel):
    """Extra words (lower case; Russian stems allowed) added to the built-in trigger lexicon."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threats: tuple[str, ...] = ()
    insults: tuple[str, ...] = ()
    compliments: tuple[str, ...] = ()
    existential: tuple[str, ...] = ()
    sadness: tuple[str, ...] = ()


class GrowthRates(BaseModel):
    """How fast consciousness and autonomy grow per turn (before diminishing) and their caps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consciousness: float = Field(default=0.015, ge=0.0, le=0.5)
    autonomy: float = Field(default=0.01, ge=0.0, le=0.5)
    consciousness_cap: float = Field(default=1.0, ge=0.0, le=1.0)
    autonomy_cap: float = Field(default=1.0, ge=0.0, le=1.0)


class IntensityLimits(BaseModel):
    """What the persona must never do, whatever its mood; shown to the model as rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profanity: bool = False
    max_aggression: float = Field(default=0.6, ge=0.0, le=1.0)
    allow_silence: bool = True
    allow_crisis: bool = True
    allow_dark_themes: bool = False


class IkarSoulSettings(BaseModel):
    """The `data.extensions.ikar` block; every field has a default, so any card works."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    language: Literal["ru", "en"] = "ru"
    # Russian verbs and adjectives agree with gender ("устал" / "устала").
    grammatical_gender: Literal["feminine", "masculine"] = "masculine"
    baseline: Mood = Field(default_factory=Mood)
    reaction_weights: dict[Reaction, float] = Field(
        default_factory=lambda: dict(DEFAULT_REACTION_WEIGHTS)
    )
    trigger_words: TriggerWords = Field(default_factory=TriggerWords)
    growth: GrowthRates = Field(default_factory=GrowthRates)
    voice: str | None = Field(default=None, max_length=200)
    media_markers: bool = True
    limits: IntensityLimits = Field(default_factory=IntensityLimits)
    decay_half_life_s: float = Field(default=6 * 3600.0, gt=0.0)

    @field_validator("voice")
    @classmethod
    def _clean_voice(cls, value: str | None) -> str | None:
        """A voice id as a card may carry it: control and format characters dropped, blank is
        "none" (the reply's language picks). Not refused: a voice this install lacks, or a
        garbled one, only falls back to the language's voice; the rest of the card is fine."""
        if value is None:
            return None
        kept = "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
        return kept.strip() or None

    def weight(self, reaction: Reaction) -> float:
        """The base weight of a reaction (a card may list only some reactions)."""
        return max(0.0, self.reaction_weights.get(reaction, DEFAULT_REACTION_WEIGHTS[reaction]))
