"""Rows as pydantic models: what repositories return and routes serialise."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from config.validation import StoredTime


class User(BaseModel):
    id: str
    name: str
    created_at: float
    is_admin: bool = False


class Conversation(BaseModel):
    id: str
    user_id: str
    persona_id: str | None
    title: str
    created_at: StoredTime
    updated_at: StoredTime
    message_count: int = 0


class Message(BaseModel):
    id: str
    conversation_id: str
    user_id: str
    seq: int
    role: Literal["system", "user", "assistant"]
    author: str
    content: str
    created_at: StoredTime
    persona_id: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
