"""The user's profile (core memory): short facts always placed in the prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

FactKind = Literal[
    "name", "person", "pet", "place", "date", "like", "dislike", "allergy", "promise", "other"
]
FACT_KINDS: tuple[str, ...] = (
    "name",
    "person",
    "pet",
    "place",
    "date",
    "like",
    "dislike",
    "allergy",
    "promise",
    "other",
)
FactSource = Literal["rule", "model", "manual"]
MAX_FACT_CHARS = 200


@dataclass(frozen=True)
class FactDraft:
    """A fact an extractor found: `subject` identifies it within its kind (de-duplication)."""

    kind: str
    subject: str
    text: str


class ProfileFact(BaseModel):
    """One stored profile fact (GET /api/memory/profile)."""

    id: int
    user_id: str
    persona_id: str | None = Field(None, description="None: about the user, for every persona")
    kind: FactKind
    subject: str
    text: str
    source: FactSource
    pinned: bool
    message_id: str | None = None
    created_at: float
    updated_at: float


class NewProfileFact(BaseModel):
    """POST /api/memory/profile body."""

    text: str = Field(min_length=1, max_length=MAX_FACT_CHARS)
    kind: FactKind = "other"
    persona: str | None = Field(default=None, max_length=128)
    pinned: bool = False
    user_id: str | None = Field(default=None, max_length=64)


class ProfileFactPatch(BaseModel):
    """PATCH /api/memory/profile/{id} body: any subset."""

    text: str | None = Field(default=None, min_length=1, max_length=MAX_FACT_CHARS)
    kind: FactKind | None = None
    pinned: bool | None = None


class ProfileStatus(BaseModel):
    """What /health shows about the profile extractor."""

    enabled: bool
    model_extraction: bool
    queue: int = 0
    extracted: int = 0
    model_runs: int = 0
    model_failures: int = 0
    last_error: str | None = None
