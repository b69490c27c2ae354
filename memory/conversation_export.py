"""Render a conversation for download: Markdown (to read), JSON (IKAR's own format, which
`parse_conversation` reads back) and JSONL (SillyTavern's chat shape, so a chat moves to
SillyTavern and back). Functions take message dicts or `ExportMessage`s and return text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from config.validation import display_timestamp

ExportFormat = Literal["md", "json", "jsonl"]


class ExportMessage(BaseModel):
    """A message as the conversations table holds it (extra keys are ignored)."""

    id: str | None = None
    role: Literal["user", "assistant", "system"]
    author: str | None = None
    content: str
    created_at: float


class ExportConversation(BaseModel):
    id: str | None = None
    title: str = "Conversation"
    persona_id: str | None = None
    user_name: str = "User"
    character_name: str = "Assistant"
    created_at: float | None = None


def _when(ts: float) -> datetime:
    """The message's time; one stored before imports checked times (2**80, inf) shows as
    the nearest time a file can hold, so one odd row never breaks the whole export."""
    return datetime.fromtimestamp(display_timestamp(ts), tz=UTC)


def _iso(ts: float) -> str:
    return _when(ts).isoformat()


def _messages(messages: Sequence[ExportMessage | Mapping[str, Any]]) -> list[ExportMessage]:
    return [
        m if isinstance(m, ExportMessage) else ExportMessage.model_validate(dict(m))
        for m in messages
    ]


def _author(m: ExportMessage, conv: ExportConversation) -> str:
    if m.author:
        return m.author
    return (
        conv.user_name
        if m.role == "user"
        else conv.character_name
        if m.role == "assistant"
        else "System"
    )


def render_conversation_markdown(
    messages: Sequence[ExportMessage | Mapping[str, Any]],
    conversation: ExportConversation | None = None,
) -> str:
    conv = conversation or ExportConversation()
    out = [f"# {conv.title}", ""]
    for m in _messages(messages):
        stamp = _when(m.created_at).strftime("%Y-%m-%d %H:%M UTC")
        out += [f"**{_author(m, conv)}** · {stamp}", "", m.content.strip(), ""]
    return "\n".join(out).rstrip() + "\n"


def render_conversation_json(
    messages: Sequence[ExportMessage | Mapping[str, Any]],
    conversation: ExportConversation | None = None,
) -> str:
    conv = conversation or ExportConversation()
    msgs = _messages(messages)
    doc = {
        "format": "ikar.conversation",
        "version": 1,
        "conversation": {
            "id": conv.id,
            "title": conv.title,
            "persona_id": conv.persona_id,
            "created_at": _iso(conv.created_at or (msgs[0].created_at if msgs else 0.0)),
        },
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "author": _author(m, conv),
                "content": m.content,
                "created_at": _iso(m.created_at),
            }
            for m in msgs
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def render_conversation_jsonl(
    messages: Sequence[ExportMessage | Mapping[str, Any]],
    conversation: ExportConversation | None = None,
) -> str:
    conv = conversation or ExportConversation()
    msgs = _messages(messages)
    lines: list[dict[str, Any]] = [
        {
            "user_name": conv.user_name,
            "character_name": conv.character_name,
            "create_date": _iso(conv.created_at or (msgs[0].created_at if msgs else 0.0)),
        }
    ]
    for m in msgs:
        lines.append(
            {
                "name": _author(m, conv),
                "is_user": m.role == "user",
                "is_system": m.role == "system",
                "send_date": _iso(m.created_at),
                "mes": m.content,
            }
        )
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"


def render_conversation(
    messages: Sequence[ExportMessage | Mapping[str, Any]],
    fmt: ExportFormat,
    conversation: ExportConversation | None = None,
) -> str:
    """GET /api/conversations/{id}/export?format=md|json|jsonl."""
    renderers = {
        "md": render_conversation_markdown,
        "json": render_conversation_json,
        "jsonl": render_conversation_jsonl,
    }
    return renderers[fmt](messages, conversation)


MEDIA_TYPES: dict[str, str] = {
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}
