"""IKAR's soul: personas (Character Card V2/V3), the soul state machine, and prompt building.

Public surface: `SoulManager` (service), `PromptBuilder` (prompts), the pure transitions in
`transitions`, reactions in `reactions`, inner-life helpers in `inner_life`.
"""

from app.soul.card import LoreEntryEdit, Persona, PersonaSummary, PersonaUpdate
from app.soul.card_codec import CardLimits, parse_card
from app.soul.errors import (
    CardError,
    PersonaInUseError,
    PersonaNotFoundError,
    PersonaNotYoursError,
    PersonaProtectedError,
    PromptBudgetError,
    SoulError,
)
from app.soul.manager import SoulManager, TurnResult
from app.soul.persona_settings import IkarSoulSettings
from app.soul.prompt_builder import BuiltPrompt, PromptBudget, PromptBuilder, PromptInputs
from app.soul.prompt_templates import PromptTemplates
from app.soul.repository import SoulHistoryPoint
from app.soul.state import Mood, Reaction, SoulState
from app.soul.transitions import SoulAction, SoulActionKind, TurnEvent

__all__ = [
    "BuiltPrompt",
    "CardError",
    "CardLimits",
    "IkarSoulSettings",
    "LoreEntryEdit",
    "Mood",
    "Persona",
    "PersonaInUseError",
    "PersonaNotFoundError",
    "PersonaNotYoursError",
    "PersonaProtectedError",
    "PersonaSummary",
    "PersonaUpdate",
    "PromptBudget",
    "PromptBudgetError",
    "PromptBuilder",
    "PromptInputs",
    "PromptTemplates",
    "Reaction",
    "SoulAction",
    "SoulActionKind",
    "SoulError",
    "SoulHistoryPoint",
    "SoulManager",
    "SoulState",
    "TurnEvent",
    "TurnResult",
    "parse_card",
]
