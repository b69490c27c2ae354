"""The shape of one chat turn, shared by the chat pipeline and the things that join it.

Soul, memory and media join a turn through `TurnHook`s and the `PromptAssembler`, so the chat
service never needs to know them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from app.storage.records import Message
from models.types import ChatMessage, Usage


@dataclass
class TurnContext:
    """Everything known about the turn being answered; hooks add to `extras`/`memories`."""

    user_id: str
    conversation_id: str
    persona_id: str | None
    user_message: Message
    history: list[Message]  # before the user message, oldest first
    language: str
    memories: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    # A hook may answer without the model (e.g. the soul's "silent" reaction).
    canned_reply: str | None = None


class PromptAssembler(Protocol):
    """Turn a `TurnContext` into the model's chat messages within `budget_tokens`."""

    def assemble(
        self, ctx: TurnContext, count_tokens: Callable[[str], int], budget_tokens: int
    ) -> list[ChatMessage]: ...


class TurnHook(Protocol):
    """Something that takes part in every turn (soul update, memory, media markers).

    Each method may be a plain function (run in a worker thread) or a coroutine function
    (awaited on the event loop): the chat service handles both.
    """

    @property
    def before_prompt(self) -> Callable[[TurnContext], Any]: ...

    @property
    def transform_reply(self) -> Callable[[TurnContext, str], Any]: ...

    @property
    def after_reply(self) -> Callable[[TurnContext, Message], Any]: ...


class ChatEvent(BaseModel):
    """What the chat pipeline streams to the API and the UI."""

    type: Literal["started", "token", "done", "error"]
    conversation_id: str | None = None
    message_id: str | None = None
    user_message_id: str | None = None
    text: str = ""
    reply: str | None = None
    usage: Usage | None = None
    model: str | None = None
    stopped: bool = False
    extras: dict[str, Any] = {}
    error_code: str | None = None
    error_key: str | None = None  # i18n key of the message; `error` holds the detail
    error_status: int | None = None
    error: str | None = None
