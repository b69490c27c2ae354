"""IKAR's long-term memory: SQLite (source of truth) + FAISS (derived) + hybrid retrieval.

The app builds one `MemoryService` with `build_memory(db, MemoryConfig(...), data_dir, ...)`,
calls `start()`, and uses it from the chat pipeline, REST API and UI. See docs/memory.md.
"""

from memory.config import ConsolidationConfig, MemoryConfig, RetrievalWeights
from memory.conversation_export import (
    MEDIA_TYPES,
    ExportConversation,
    ExportMessage,
    render_conversation,
    render_conversation_json,
    render_conversation_jsonl,
    render_conversation_markdown,
)
from memory.conversation_import import (
    ImportedConversation,
    ImportedMessage,
    ImportFormatError,
    detect_format,
    parse_conversation,
)
from memory.protocols import Embedder
from memory.retriever import HybridRetriever, format_memory_line
from memory.service import MemoryService, build_memory
from memory.sqlite_store import SqliteMemoryStore
from memory.types import (
    MemoryFilter,
    MemoryHealth,
    MemoryHit,
    MemoryItem,
    MemoryPage,
    MemoryPatch,
    MemoryQuery,
    MemoryStats,
    NewMemory,
    TurnIn,
)

__all__ = [
    "MEDIA_TYPES",
    "ConsolidationConfig",
    "Embedder",
    "ExportConversation",
    "ExportMessage",
    "HybridRetriever",
    "ImportFormatError",
    "ImportedConversation",
    "ImportedMessage",
    "MemoryConfig",
    "MemoryFilter",
    "MemoryHealth",
    "MemoryHit",
    "MemoryItem",
    "MemoryPage",
    "MemoryPatch",
    "MemoryQuery",
    "MemoryService",
    "MemoryStats",
    "NewMemory",
    "RetrievalWeights",
    "SqliteMemoryStore",
    "TurnIn",
    "build_memory",
    "detect_format",
    "format_memory_line",
    "parse_conversation",
    "render_conversation",
    "render_conversation_json",
    "render_conversation_jsonl",
    "render_conversation_markdown",
]
