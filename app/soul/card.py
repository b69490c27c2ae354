"""Character Card V2/V3 as typed views over the raw card dict, and the stored `Persona`.

Why keep the raw dict: cards carry fields and `extensions` from many tools; IKAR reads what it
understands through these models but always stores and exports the original dict, so nothing
is lost on a round trip.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.soul.persona_settings import IkarSoulSettings

SPEC_V2 = "chara_card_v2"
SPEC_V3 = "chara_card_v3"
CardSpec = Literal["chara_card_v2", "chara_card_v3"]


class LoreEntry(BaseModel):
    """One lorebook entry: inserted into the prompt when a key appears in recent messages."""

    model_config = ConfigDict(extra="allow")

    keys: list[str]
    content: str
    extensions: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    insertion_order: int = 0
    case_sensitive: bool | None = None
    use_regex: bool = False
    constant: bool | None = None
    name: str | None = None
    priority: int | None = None
    id: int | str | None = None
    comment: str | None = None
    selective: bool | None = None
    secondary_keys: list[str] = Field(default_factory=list)
    position: str | None = None


class CharacterBook(BaseModel):
    """The card's lorebook (`character_book`)."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    description: str | None = None
    scan_depth: int | None = Field(default=None, ge=0)
    token_budget: int | None = Field(default=None, ge=0)
    recursive_scanning: bool | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    entries: list[LoreEntry] = Field(default_factory=list)


class CardData(BaseModel):
    """The `data` object shared by V2 and V3 (V3-only fields are optional here)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    description: str
    personality: str
    scenario: str
    first_mes: str
    mes_example: str
    creator_notes: str = ""
    system_prompt: str = ""
    post_history_instructions: str = ""
    alternate_greetings: list[str] = Field(default_factory=list)
    character_book: CharacterBook | None = None
    tags: list[str] = Field(default_factory=list)
    creator: str = ""
    character_version: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)
    # V3
    nickname: str | None = None
    group_only_greetings: list[str] = Field(default_factory=list)
    creation_date: int | float | None = None
    modification_date: int | float | None = None


class CharacterCard(BaseModel):
    """A V2 or V3 card: `spec` says which."""

    model_config = ConfigDict(extra="allow")

    spec: CardSpec
    spec_version: str
    data: CardData


class Persona(BaseModel):
    """A persona as IKAR stores it: the raw card plus its typed view and soul settings."""

    id: str
    name: str
    card: CharacterCard
    raw_card: dict[str, Any]
    settings: IkarSoulSettings
    avatar_png: bytes | None = None
    builtin: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    owner_id: str | None = None  # the user who imported it (None: shipped with IKAR)

    @property
    def language(self) -> Literal["ru", "en"]:
        return self.settings.language

    def greeting(self, user_name: str) -> str:
        """The card's first message with `{{char}}`/`{{user}}` filled in."""
        return substitute_macros(self.card.data.first_mes, self.name, user_name)


class PersonaSummary(BaseModel):
    """What a persona list shows (no card body, no avatar bytes)."""

    id: str
    name: str
    spec: CardSpec
    language: Literal["ru", "en"]
    builtin: bool
    has_avatar: bool
    tags: list[str]
    creator_notes: str
    updated_at: float


class PersonaUpdate(BaseModel):
    """Editable card fields; `None` leaves a field as it is."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    personality: str | None = None
    scenario: str | None = None
    first_mes: str | None = None
    mes_example: str | None = None
    system_prompt: str | None = None
    post_history_instructions: str | None = None
    tags: list[str] | None = None
    ikar: IkarSoulSettings | None = None


class LoreEntryEdit(BaseModel):
    """One lorebook entry as an editor sends it back: the four editable fields, and `source`,
    the index of the current entry it was edited from (its other fields are kept)."""

    model_config = ConfigDict(extra="forbid")

    source: int | None = Field(default=None, ge=0)
    keys: list[str] = Field(default_factory=list)
    content: str = ""
    enabled: bool = True
    insertion_order: int = 0


_MACRO_RE = re.compile(r"\{\{\s*(char|user)\s*\}\}|<(BOT|USER)>", re.IGNORECASE)


def substitute_macros(text: str, char_name: str, user_name: str) -> str:
    """Replace the card macros `{{char}}`, `{{user}}`, `<BOT>`, `<USER>` by plain substitution.

    Never a template render: card text is data, so any other braces stay literal.
    """

    def repl(match: re.Match[str]) -> str:
        word = (match.group(1) or match.group(2)).lower()
        return char_name if word in ("char", "bot") else user_name

    return _MACRO_RE.sub(repl, text)
