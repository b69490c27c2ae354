"""The soul's part in a chat turn: update the state, choose the reaction, build the prompt."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.services.defaults import RuntimeDefaults
from app.services.turns import PromptReport, SoulOutcome, TurnContext, TurnSlot
from app.soul import PromptBudget, PromptBuilder, PromptInputs, PromptTemplates, SoulManager
from app.storage.records import Message
from models.types import ChatMessage


class SoulTurnHook:
    """Every user message moves the soul; the reaction shapes the reply (or replaces it).

    Runs first: it resolves the turn's persona (the conversation's, else the default), which
    memory and media read.
    """

    requires: frozenset[TurnSlot] = frozenset()
    provides: frozenset[TurnSlot] = frozenset({"persona_id", "soul", "canned_reply"})

    def __init__(self, soul: SoulManager, defaults: RuntimeDefaults) -> None:
        self.soul = soul
        self.defaults = defaults

    def persona_for(self, ctx: TurnContext) -> str:
        return ctx.persona_id or self.defaults.persona

    def before_prompt(self, ctx: TurnContext) -> None:
        persona_id = self.persona_for(ctx)
        result = self.soul.on_user_turn(ctx.user_id, persona_id, ctx.user_message.content)
        ctx.persona_id = persona_id
        ctx.soul = SoulOutcome(persona_id=persona_id, reaction=result.reaction, state=result.state)
        if result.pause_text is not None:
            ctx.canned_reply = result.pause_text

    def transform_reply(self, ctx: TurnContext, reply: str) -> str:
        return reply

    def after_reply(self, ctx: TurnContext, reply: Message) -> None:
        return None


class SoulPromptAssembler:
    """Adapts the soul's `PromptBuilder` (one per model, for its token counter and budget)."""

    requires: frozenset[TurnSlot] = frozenset({"soul"})

    def __init__(self, soul: SoulManager, templates: PromptTemplates, user_name: str) -> None:
        self.soul = soul
        self.templates = templates
        self.user_name = user_name
        self._builders: dict[tuple[int, int], PromptBuilder] = {}
        self._lock = threading.Lock()

    def builder(self, count_tokens: Callable[[str], int], budget_tokens: int) -> PromptBuilder:
        key = (id(count_tokens.__self__) if hasattr(count_tokens, "__self__") else 0, budget_tokens)
        with self._lock:
            builder = self._builders.get(key)
            if builder is None:
                budget = PromptBudget(n_ctx=budget_tokens, max_tokens=0, margin=0)
                builder = PromptBuilder(self.templates, count_tokens, budget)
                self._builders[key] = builder
        return builder

    def assemble(
        self, ctx: TurnContext, count_tokens: Callable[[str], int], budget_tokens: int
    ) -> list[ChatMessage]:
        soul = ctx.soul
        if soul is None:  # TurnHooks guarantees the soul hook ran; this is the type's view
            raise RuntimeError("the soul turn hook must run before the prompt is assembled")
        persona = self.soul.get_persona(soul.persona_id)
        history = [
            ChatMessage(role=m.role, content=m.content) for m in ctx.history if m.role != "system"
        ]
        # Profile facts first: when the budget is tight, memories are dropped last-first.
        memory_lines = [*ctx.profile, *(m.prompt_line for m in ctx.memories or [])]
        built = self.builder(count_tokens, budget_tokens).build(
            PromptInputs(
                persona=persona,
                state=soul.state,
                reaction=soul.reaction,
                user_name=self.user_name,
                known_name=ctx.user_name,
                user_message=_with_attachment(ctx),
                history=history,
                memories=memory_lines,
                media_instructions=ctx.media.instructions,
            )
        )
        ctx.prompt = PromptReport(
            tokens=built.prompt_tokens,
            history_kept=built.history_kept,
            history_dropped=built.history_dropped,
            lore=built.lore,
        )
        return built.messages

    def stable_prefix(
        self, persona_id: str, media_instructions: str | None = None
    ) -> list[ChatMessage]:
        """The messages every new conversation with this persona starts with (card, rules,
        examples), for `LLMBackend.warm_prefix` after start, a persona switch or an edit.
        `media_instructions` must be what the media hook puts in turns of this persona."""
        persona = self.soul.get_persona(persona_id)
        builder = self.builder(_no_count, 1)
        return builder.stable_prefix(persona, self.user_name, media_instructions)


def _no_count(text: str) -> int:
    return 0


def _with_attachment(ctx: TurnContext) -> str:
    """The user's text plus the text read from an attached image, clearly delimited."""
    attached = ctx.attachment_text
    if not attached:
        return ctx.user_message.content
    label = (
        "Текст на приложенном изображении" if ctx.language == "ru" else "Text in the attached image"
    )
    return f"{ctx.user_message.content}\n\n[{label}]:\n{attached}"
