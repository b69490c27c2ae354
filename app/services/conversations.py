"""Conversations in and out: import from files (IKAR, SillyTavern, plain JSON) and export."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from app.services.errors import NotFound, ServiceError
from app.soul import PersonaNotFoundError, SoulManager
from app.storage.database import Database
from app.storage.repositories import (
    ConversationRepository,
    MessageRepository,
    NotFoundError,
    UserRepository,
)
from config.errors import MessageKey, check_upload_size
from memory import (
    MEDIA_TYPES,
    ExportConversation,
    ExportMessage,
    ImportFormatError,
    MemoryService,
    TurnIn,
    parse_conversation,
    render_conversation,
)

ExportFormat = Literal["md", "json", "jsonl"]


class ImportResult(BaseModel):
    conversation_id: str
    title: str
    messages: int
    source_format: str
    warnings: list[str]


class ConversationTransfer:
    def __init__(
        self, db: Database, memory: MemoryService, soul: SoulManager, max_bytes: int
    ) -> None:
        self.db = db
        self.memory = memory
        self.soul = soul
        self.max_bytes = max_bytes
        self.users = UserRepository(db)
        self.conversations = ConversationRepository(db)
        self.messages = MessageRepository(db)

    def import_file(
        self,
        user_id: str,
        data: bytes,
        fmt: str = "auto",
        filename: str | None = None,
        persona_id: str | None = None,
    ) -> ImportResult:
        """Parse fully first, then write everything in one transaction: never half-imported.

        `FileTooLargeError` (413) over the upload limit; `ServiceError` for a broken file."""
        check_upload_size(data, self.max_bytes)
        try:
            parsed = parse_conversation(data, fmt, self.max_bytes, filename)  # type: ignore[arg-type]
        except ImportFormatError as exc:
            raise ServiceError(
                "error.import_failed",
                code=exc.code,
                reason=MessageKey(f"memory.import_reason.{exc.code}"),
                detail=str(exc),
            ) from None
        persona = persona_id or parsed.persona_id
        if persona is not None:
            try:
                self.soul.persona_for(user_id, persona)
            except PersonaNotFoundError:  # gone, or someone else's: the default persona
                persona = None
        self.users.get_or_create(user_id)
        embed_later: list[Callable[[], None]] = []
        # Messages and the memories to embed commit together: killed before the vectors
        # are made, the next start embeds them (the durable embedding backlog).
        with self.db.transaction():
            conv = self.conversations.create(
                user_id, parsed.title[:120] or "Import", persona, created_at=parsed.created_at
            )
            stored = [
                self.messages.add(
                    conv.id,
                    user_id,
                    m.role,
                    m.author,
                    m.content,
                    persona_id=persona,
                    meta={"imported": parsed.source_format, "source_id": m.source_id},
                    created_at=m.created_at,
                )
                for m in parsed.messages
            ]
            self.memory.remember_turns(
                [
                    TurnIn(
                        user_id=user_id,
                        persona_id=persona,
                        conversation_id=conv.id,
                        message_id=m.id,
                        role=m.role,
                        text=m.content,
                        created_at=m.created_at,
                        author=_speaker(m.author, m.role, user_id, persona),
                    )
                    for m in stored
                    if m.role in ("user", "assistant") and m.content.strip()
                ],
                after_commit=embed_later.append,
            )
        for step in embed_later:
            step()
        return ImportResult(
            conversation_id=conv.id,
            title=conv.title,
            messages=len(stored),
            source_format=parsed.source_format,
            warnings=parsed.warnings,
        )

    async def import_file_async(
        self,
        user_id: str,
        data: bytes,
        fmt: str = "auto",
        filename: str | None = None,
        persona_id: str | None = None,
    ) -> ImportResult:
        """`import_file` for the API and the UI (parsing and writing run in a thread)."""
        return await asyncio.to_thread(self.import_file, user_id, data, fmt, filename, persona_id)

    async def export_async(
        self, user_id: str, conversation_id: str, fmt: ExportFormat
    ) -> tuple[str, str]:
        """`export` for the API and the UI (runs in a thread)."""
        return await asyncio.to_thread(self.export, user_id, conversation_id, fmt)

    def export(self, user_id: str, conversation_id: str, fmt: ExportFormat) -> tuple[str, str]:
        """(text, media type) of one conversation."""
        try:
            conv = self.conversations.get(user_id, conversation_id)
        except NotFoundError:
            raise NotFound("error.conversation_not_found") from None
        msgs = self.messages.list(user_id, conversation_id)
        character = conv.persona_id or "assistant"
        if conv.persona_id:
            try:
                character = self.soul.get_persona(conv.persona_id).name
            except PersonaNotFoundError:
                character = conv.persona_id  # the persona was deleted since
        text = render_conversation(
            [
                ExportMessage(
                    id=m.id,
                    role=m.role,
                    author=m.author,
                    content=m.content,
                    created_at=m.created_at,
                )
                for m in msgs
            ],
            fmt,
            ExportConversation(
                id=conv.id,
                title=conv.title,
                persona_id=conv.persona_id,
                user_name=user_id,
                character_name=character,
                created_at=conv.created_at,
            ),
        )
        return text, MEDIA_TYPES[fmt]


# What an import writes when the file names no speaker: no one's name.
_PLACEHOLDER_AUTHORS = frozenset(
    {
        "user",
        "assistant",
        "system",
        "ikar",
        "bot",
        "ai",
        "you",
        "me",
        "i",
        "я",
        "{{user}}",
        "{{char}}",
    }
)


def _speaker(author: str, role: str, user_id: str, persona_id: str | None) -> str | None:
    """The imported speaker's name, or None for a placeholder (the memory then names the
    turn after the user's or the persona's display name)."""
    name = " ".join(author.split())
    if not name or name.lower() in _PLACEHOLDER_AUTHORS or name in (user_id, persona_id, role):
        return None
    return name
