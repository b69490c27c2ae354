"""The typed contract of one chat turn, shared by the chat pipeline and what joins it.

Soul, memory and media join a turn through `TurnHook`s and the `PromptAssembler`, so the chat
service never needs to know them. What a hook learns goes into a typed slot of `TurnContext`
(one per concern: the soul's outcome, recalled memories, the user's profile facts, the
attached image's text, media requests and results, the prompt report), never into a dict.

Order is part of the contract: each hook declares the slots it `requires` (filled by an
earlier hook) and the slots it `provides`. `TurnHooks` checks the order where the hooks are
registered (app/composition.py), so a hook that reads the soul's outcome cannot silently run
before the soul hook. What a finished turn produced travels to the API and the UI as a
`TurnOutcome` on the `done` `ChatEvent`; a failed turn carries a `TurnFailure`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from app.soul.state import Reaction, SoulState
from app.storage.records import Message
from config.errors import IkarError
from media.markers import ImageRequest, SpeakRequest
from models.types import ChatMessage, Usage

# The slots of `TurnContext` that hooks fill; `TurnHooks` checks who fills them before whom.
TurnSlot = Literal[
    "persona_id",
    "soul",
    "memories",
    "profile",
    "user_name",
    "attachment_text",
    "media",
    "canned_reply",
]


class SoulOutcome(BaseModel):
    """What the user's message did to the soul: the state after it and the chosen reaction."""

    persona_id: str
    reaction: Reaction
    state: SoulState


class RecalledMemory(BaseModel):
    """One long-term memory recalled for this turn (shown by the UI, stored with the reply)."""

    id: int
    text: str
    score: float
    kind: str
    source_message_ids: list[str]
    created_at: float
    # How the prompt's memory slot shows it (dated, labelled, clipped); not sent to clients.
    prompt_line: str = Field(default="", exclude=True)


class MediaResult(BaseModel):
    """Speech or a picture made for the reply, or why it could not be made."""

    kind: str  # "speech" | "image"; a failed request keeps its marker kind ("speak" | "image")
    key: str | None = None  # artifact key (GET /api/artifacts/{key})
    media_type: str | None = None
    text: str | None = None  # what was spoken
    prompt: str | None = None  # what was drawn
    seed: int | None = None
    voice: str | None = None  # the voice that spoke it (a persona's, else the language's)
    language: str | None = None  # the language it was spoken in
    error: str | None = None
    messages: dict[str, str] | None = None  # the error in Russian and English, for people

    def wire(self) -> dict[str, Any]:
        """The fields this result has (as stored in the reply's meta and sent to clients)."""
        return self.model_dump(mode="json", exclude_unset=True)


@dataclass
class MediaTurn:
    """Media's part of a turn: the marker instructions, the persona's voice, what the model
    asked for, and (after the reply) what was made."""

    instructions: str | None = None
    voice: str | None = None
    language: str | None = None  # the persona's: speaks a text whose letters do not decide
    requests: list[SpeakRequest | ImageRequest] = field(default_factory=list)
    results: list[MediaResult] | None = None


class PromptReport(BaseModel):
    """What the prompt assembler kept within the budget (for the debug view and tests)."""

    tokens: int
    history_kept: int
    history_dropped: int
    lore: list[str]


@dataclass
class TurnContext:
    """Everything known about the turn being answered. Hooks fill the typed slots."""

    user_id: str
    conversation_id: str
    persona_id: str | None  # the conversation's persona; the soul hook resolves the default
    user_message: Message
    history: list[Message]  # before the user message, oldest first
    language: str
    # The user's own name when the profile knows it (None: the configured default name).
    user_name: str | None = None
    soul: SoulOutcome | None = None
    memories: list[RecalledMemory] | None = None  # None: recall did not run or failed
    profile: list[str] = field(default_factory=list)  # core facts about the user, for the note
    attachment_text: str | None = None  # text read from an attached image
    media: MediaTurn = field(default_factory=MediaTurn)
    prompt: PromptReport | None = None  # written by the assembler
    # A hook may answer without the model (e.g. the soul's "silent" reaction).
    canned_reply: str | None = None

    def outcome(self) -> TurnOutcome:
        """What this turn produced, for the `done` event."""
        soul = self.soul
        return TurnOutcome(
            persona=soul.persona_id if soul else self.persona_id,
            reaction=soul.reaction.value if soul else None,
            soul=soul.state if soul else None,
            memories=self.memories,
            media=self.media.results,
            prompt=self.prompt,
        )


class TurnOutcome(BaseModel):
    """What a finished turn produced besides the reply text: the API's and the UI's view."""

    persona: str | None = None
    reaction: str | None = None
    soul: SoulState | None = None
    memories: list[RecalledMemory] | None = None
    media: list[MediaResult] | None = None
    prompt: PromptReport | None = None

    def media_wire(self) -> list[dict[str, Any]] | None:
        return [m.wire() for m in self.media] if self.media is not None else None

    def memories_wire(self) -> list[dict[str, Any]] | None:
        if self.memories is None:
            return None
        return [m.model_dump(mode="json") for m in self.memories]


class TurnFailure(BaseModel):
    """Why a turn failed, reported the same way by the API, the UI and the metrics."""

    code: str  # stable machine code, e.g. "timeout"
    status: int  # HTTP status
    key: str  # message key (app/locales)
    params: dict[str, Any] = {}
    detail: str = ""

    @classmethod
    def of(cls, exc: IkarError) -> TurnFailure:
        params = {k: v for k, v in exc.message_params().items() if _plain(v)}
        return cls(
            code=exc.code,
            status=exc.status_code,
            key=exc.key,
            params=params,
            detail=exc.detail or str(exc),
        )


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


class PromptAssembler(Protocol):
    """Turn a `TurnContext` into the model's chat messages within `budget_tokens`."""

    @property
    def requires(self) -> frozenset[TurnSlot]: ...

    def assemble(
        self, ctx: TurnContext, count_tokens: Callable[[str], int], budget_tokens: int
    ) -> list[ChatMessage]: ...


class TurnHook(Protocol):
    """Something that takes part in every turn (soul update, memory, media markers).

    `requires`: slots an earlier hook must fill; `provides`: slots this hook fills. Each
    method may be a plain function (run in a worker thread) or a coroutine function (awaited
    on the event loop): the chat service handles both.
    """

    @property
    def requires(self) -> frozenset[TurnSlot]: ...

    @property
    def provides(self) -> frozenset[TurnSlot]: ...

    @property
    def before_prompt(self) -> Callable[[TurnContext], Any]: ...

    @property
    def transform_reply(self) -> Callable[[TurnContext, str], Any]: ...

    @property
    def after_reply(self) -> Callable[[TurnContext, Message], Any]: ...


class TurnHookOrderError(ValueError):
    """Hooks registered in an order where one reads a slot nobody filled before it."""


class TurnHooks:
    """The hooks of every turn, in the order they run; the order is checked here, once."""

    def __init__(self, hooks: Sequence[TurnHook], assembler: PromptAssembler | None = None) -> None:
        filled: set[str] = set()
        for hook in hooks:
            _check(type(hook).__name__, hook.requires, filled)
            filled |= hook.provides
        if assembler is not None:
            _check(type(assembler).__name__, assembler.requires, filled)
        self._hooks = tuple(hooks)

    def __iter__(self) -> Iterator[TurnHook]:
        return iter(self._hooks)

    def __len__(self) -> int:
        return len(self._hooks)


def _check(name: str, requires: frozenset[TurnSlot], filled: set[str]) -> None:
    missing = sorted(set(requires) - filled)
    if missing:
        raise TurnHookOrderError(
            f"{name} needs {', '.join(missing)} from an earlier turn hook; register the hook "
            "that provides it first (app/composition.py)"
        )


def slot_names() -> frozenset[str]:
    """Every `TurnContext` field (a `TurnSlot` must be one of them)."""
    return frozenset(f.name for f in fields(TurnContext))


class ChatEvent(BaseModel):
    """What the chat pipeline streams to the API and the UI."""

    # "queued": the turn waits for the model (one generation at a time per model);
    # `position` is how many turns are before it, plus one. Sent again when it moves.
    type: Literal["started", "queued", "token", "done", "error"]
    conversation_id: str | None = None
    position: int | None = None  # on "queued"
    message_id: str | None = None
    user_message_id: str | None = None
    text: str = ""
    reply: str | None = None
    usage: Usage | None = None
    model: str | None = None
    stopped: bool = False
    outcome: TurnOutcome | None = None  # on "done"
    failure: TurnFailure | None = None  # on "error"
