"""Pydantic models that cross the memory subsystem's edge (REST bodies map onto these)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from config.validation import CleanInput
from memory.profile_types import ProfileStatus

MemoryKind = Literal["turn", "summary", "fact", "manual"]
TurnRole = Literal["user", "assistant", "system"]
ComponentState = Literal["unloaded", "loading", "ready", "failed"]
SearchMode = Literal["hybrid", "dense", "keyword"]


class Namespace(BaseModel):
    """Whose memories a query may see. `persona_id=None` means "all of the user's"."""

    user_id: str = Field(min_length=1)
    persona_id: str | None = None


class NewMemory(BaseModel):
    """A memory to add (manual, fact, summary, or a turn from bulk import)."""

    user_id: str = Field(min_length=1)
    persona_id: str | None = None
    text: str = Field(min_length=1, max_length=100_000)
    kind: MemoryKind = "manual"
    importance: float = Field(0.5, ge=0.0, le=1.0)
    pinned: bool = False
    conversation_id: str | None = None
    message_id: str | None = None
    role: TurnRole | None = None
    author: str | None = Field(None, max_length=200, description="Who said it (turns).")
    source_message_ids: list[str] = Field(default_factory=list)
    created_at: float | None = Field(None, description="Unix seconds; now when omitted.")


class TurnIn(BaseModel):
    """One chat message to remember (what `remember_turn` takes, as a model for bulk use)."""

    user_id: str = Field(min_length=1)
    persona_id: str | None = None
    conversation_id: str
    message_id: str
    role: TurnRole
    text: str
    created_at: float
    author: str | None = Field(
        None,
        max_length=200,
        description="Who said it: the user's or persona's name, or an imported speaker. "
        "When omitted, it is looked up from the stored message (see memory/authors.py).",
    )


class MemoryItem(BaseModel):
    """A stored memory as the API shows it (no vector)."""

    id: int
    user_id: str
    persona_id: str | None
    kind: MemoryKind
    role: str | None
    author: str | None = None
    text: str
    created_at: float
    updated_at: float
    importance: float
    pinned: bool
    source_message_ids: list[str]
    conversation_id: str | None
    message_id: str | None
    chunk_index: int
    chunk_count: int
    embedding_model: str | None


class MemoryPatch(CleanInput):
    """PUT /api/memory/{id} body: any subset of these."""

    text: str | None = Field(None, min_length=1, max_length=100_000)
    pinned: bool | None = None
    importance: float | None = Field(None, ge=0.0, le=1.0)


class MemoryFilter(BaseModel):
    """List filters and paging for the memory browser."""

    kind: MemoryKind | None = None
    pinned: bool | None = None
    contains: str | None = None
    persona_id: str | None = None
    conversation_id: str | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class MemoryPage(BaseModel):
    items: list[MemoryItem]
    total: int


class MemoryHit(BaseModel):
    """One retrieved memory with why it was retrieved."""

    id: int
    text: str
    score: float
    kind: MemoryKind
    role: str | None
    author: str | None = None
    source_message_ids: list[str]
    created_at: float
    conversation_id: str | None
    pinned: bool
    importance: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    cosine: float | None = Field(
        None, description="Exact cosine of the memory to the query (None: keyword-only search)."
    )
    cosine_z: float | None = Field(
        None,
        description="How far that cosine stands above the query's dense candidates, in "
        "standard deviations (None: too few candidates to judge).",
    )
    keyword_coverage: float | None = Field(
        None, description="Share of the query's words the memory contains (keyword hits)."
    )
    context_before: list[str] = Field(default_factory=list)
    context_after: list[str] = Field(default_factory=list)


class MemoryQuery(BaseModel):
    """POST /api/memory/search body, plus the namespace the server fills in."""

    user_id: str = Field(min_length=1)
    persona_id: str | None = None
    query: str = Field(max_length=10_000)
    k: int | None = Field(None, ge=1, le=100)
    mode: SearchMode = "hybrid"
    token_budget: int | None = Field(None, ge=1)
    with_context: bool = True


class ComponentStatus(BaseModel):
    """What /health shows for a lazily loaded thing."""

    state: ComponentState
    detail: str | None = None


class IndexStatus(BaseModel):
    kind: str
    embedding_model: str
    size: int
    sqlite_vectors: int
    pending_embeddings: int
    consistent: bool
    last_saved_at: float | None
    last_check: str | None


class ConsolidationStatus(BaseModel):
    state: Literal["idle", "running", "cancelling"]
    last_started_at: float | None = None
    last_finished_at: float | None = None
    last_result: str | None = None
    windows_done: int = 0
    summaries_created: int = 0
    duplicates_merged: int = 0
    decayed: int = 0
    error: str | None = None


class ScheduleStatus(BaseModel):
    """What /health and the Memory tab show about automatic consolidation."""

    mode: Literal["off", "idle", "night", "idle_or_night"]
    auto_runs: int = 0
    interrupted: int = 0
    last_auto_at: float | None = None
    waiting_for: str = ""  # why it is not running now: "idle", "interval", "night", "off"


class ReembedStatus(BaseModel):
    """The one-time re-embedding of stored memories after the passage format changed
    (attribution, contextual embedding) or the embedder did. Progress is counted from SQLite
    (rows still lacking a vector of the current format), so a killed process resumes."""

    state: Literal["idle", "running", "done"] = "idle"
    vector_format: str = ""
    total: int = 0
    done: int = 0
    progress: float = 1.0
    started_at: float | None = None
    finished_at: float | None = None


class MemoryStats(BaseModel):
    total: int
    by_kind: dict[str, int]
    pinned: int
    index_size: int
    pending_embeddings: int
    last_consolidation_at: float | None


class MemoryHealth(BaseModel):
    """The whole subsystem for /health."""

    embedder: ComponentStatus
    embedder_name: str
    index: IndexStatus
    ingest_queue: int
    consolidation: ConsolidationStatus
    reembed: ReembedStatus = Field(default_factory=ReembedStatus)
    not_remembered: int = Field(0, description="Turns skipped by the remember policy.")
    embedding_backlog: int = Field(
        0, description="Memories stored durably but not yet embedded (resumed after a restart)."
    )
    profile: ProfileStatus | None = None
    schedule: ScheduleStatus | None = None
