"""Assembles the chat prompt (real roles, `list[ChatMessage]`) within the context budget.

Layout, chosen so llama.cpp reuses its KV cache (it keeps the longest common prefix of the
previous prompt, so a stable prefix costs nothing on the next turn):

1. system: persona card, rules, media instructions, today's temperament (changes only when
   the persona is edited or the day changes);
2. example dialogue as user/assistant turns (stable);
3. recent history, oldest first (append-only between turns);
4. a short system note: state in words, reaction, lore, memories (volatile, every turn);
5. the new user message.

Per turn only the previous note's position onward is recomputed: last turn's note is not
kept in the history, so the previous exchange plus the new note and message are evaluated,
not the card and the whole conversation. When the history must be trimmed the prefix shifts
once; `history_trim_slack` trims a little extra so that the next few turns share a prefix
again instead of shifting every turn.

Budget = n_ctx - max_tokens - margin, measured with the injected `count_tokens` plus a
per-message overhead for the chat template's role markers. Over budget, the builder drops the
oldest history first (newest turns stay), then the example dialogue, then lore entries
(lowest priority first), then memories (last first). If the card plus the new message alone
do not fit, it raises `PromptBudgetError`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from app.soul.card import Persona, substitute_macros
from app.soul.errors import PromptBudgetError
from app.soul.lorebook import SelectedLore, select_lore
from app.soul.prompt_context import persona_context, state_context
from app.soul.prompt_templates import PromptTemplates
from app.soul.state import Reaction, SoulState
from models.types import ChatMessage

_EXAMPLE_LINE = re.compile(r"^\s*(\{\{\s*(user|char)\s*\}\}|<(USER|BOT)>)\s*:\s?", re.IGNORECASE)
_START = re.compile(r"<START>", re.IGNORECASE)
_SYSTEM_CACHE_SIZE = 32


class PromptBudget(BaseModel):
    """Context sizes for one model profile."""

    model_config = ConfigDict(frozen=True)

    n_ctx: int = Field(gt=0)
    max_tokens: int = Field(ge=0)
    margin: int = Field(default=32, ge=0)
    per_message_overhead: int = Field(default=4, ge=0)
    lore_tokens: int = Field(default=400, ge=0)
    history_trim_slack: int = Field(default=0, ge=0)

    @property
    def available(self) -> int:
        return self.n_ctx - self.max_tokens - self.margin


class PromptInputs(BaseModel):
    """Everything one turn's prompt is built from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    persona: Persona
    state: SoulState
    reaction: Reaction
    user_name: str
    user_message: str
    history: Sequence[ChatMessage] = ()
    memories: Sequence[str] = ()
    media_instructions: str | None = None
    include_examples: bool = True


class BuiltPrompt(BaseModel):
    """The messages to send, and what the budget kept."""

    messages: list[ChatMessage]
    prompt_tokens: int
    budget: int
    history_kept: int
    history_dropped: int
    examples_kept: bool
    lore: list[str]
    memories_kept: int


class PromptBuilder:
    """Builds prompts for one model profile; holds only a small cache of rendered cards."""

    def __init__(
        self,
        templates: PromptTemplates,
        count_tokens: Callable[[str], int],
        budget: PromptBudget,
    ) -> None:
        self.templates = templates
        self.count_tokens = count_tokens
        self.budget = budget
        self._system_cache: OrderedDict[tuple[object, ...], tuple[str, int]] = OrderedDict()

    def cost(self, message: ChatMessage) -> int:
        """Tokens a message takes in the prompt, role markers included."""
        return self.count_tokens(message.content) + self.budget.per_message_overhead

    def build(self, inputs: PromptInputs) -> BuiltPrompt:
        """The prompt for this turn; never longer than `budget.available` tokens."""
        persona, state = inputs.persona, inputs.state
        lang = persona.language
        available = self.budget.available
        overhead = self.budget.per_message_overhead

        system_text, system_cost = self._system(inputs)
        user = ChatMessage(role="user", content=inputs.user_message)
        user_cost = self.cost(user)
        fixed = system_cost + user_cost

        examples = parse_examples(persona, inputs.user_name) if inputs.include_examples else []
        example_costs = [self.cost(m) for m in examples]
        history = list(inputs.history)
        history_costs = [self.cost(m) for m in history]

        recent_texts = [m.content for m in history[-8:]] + [inputs.user_message]
        lore = select_lore(
            persona.card.data.character_book,
            recent_texts,
            self.count_tokens,
            self.budget.lore_tokens,
        )
        memories = [m for m in inputs.memories if m.strip()]
        note_ctx = state_context(state, persona, inputs.user_name)
        note_ctx["reaction"] = inputs.reaction.value
        note_ctx["post_history"] = substitute_macros(
            persona.card.data.post_history_instructions, persona.name, inputs.user_name
        ).strip()

        def render_note(lore_items: list[SelectedLore], memory_items: list[str]) -> str:
            note_ctx["lore"] = [item.content for item in lore_items]
            note_ctx["memories"] = memory_items
            return self.templates.render("note", lang, **note_ctx)

        note_text = render_note(lore, memories)
        note_cost = self.count_tokens(note_text) + overhead
        examples_cost = sum(example_costs)

        # 1. Oldest history first: keep the longest suffix that fits.
        room = available - fixed - note_cost - examples_cost
        keep_from = _suffix_start(history_costs, room)
        if keep_from > 0 and self.budget.history_trim_slack:
            keep_from = _suffix_start(history_costs, room - self.budget.history_trim_slack)
        # 2. Then the example dialogue (only once no history is left to drop).
        use_examples = bool(examples)
        if keep_from == len(history) and fixed + note_cost + examples_cost > available:
            use_examples = False
            examples_cost = 0
        # 3. Then lore (lowest priority first), 4. then memories (last first).
        while fixed + note_cost + examples_cost > available and (lore or memories):
            if lore:
                lore = _drop_lowest_priority(lore)
            else:
                memories = memories[:-1]
            note_text = render_note(lore, memories)
            note_cost = self.count_tokens(note_text) + overhead
        total_min = fixed + note_cost + examples_cost
        if total_min > available:
            raise PromptBudgetError(total_min, available)
        if keep_from == len(history):  # the note may have shrunk: history may fit again
            room = available - total_min
            keep_from = _suffix_start(history_costs, room)

        kept_history = history[keep_from:]
        messages = [ChatMessage(role="system", content=system_text)]
        if use_examples:
            messages.extend(examples)
        messages.extend(kept_history)
        messages.append(ChatMessage(role="system", content=note_text))
        messages.append(user)
        total = total_min + sum(history_costs[keep_from:])
        return BuiltPrompt(
            messages=messages,
            prompt_tokens=total,
            budget=available,
            history_kept=len(kept_history),
            history_dropped=keep_from,
            examples_kept=use_examples,
            lore=[item.name for item in lore],
            memories_kept=len(memories),
        )

    def system_message(
        self, persona: Persona, state: SoulState, user_name: str, media: str | None = None
    ) -> ChatMessage:
        """The stable system message alone (inner-life prompts start with it too)."""
        inputs = PromptInputs(
            persona=persona,
            state=state,
            reaction=Reaction.NORMAL,
            user_name=user_name,
            user_message="",
            media_instructions=media,
        )
        return ChatMessage(role="system", content=self._system(inputs)[0])

    def _system(self, inputs: PromptInputs) -> tuple[str, int]:
        """Rendered card text and its cost, cached while persona, user, day and media agree.

        Edits to `system.*.j2` apply to new builders (or after a restart), not to cached keys.
        """
        persona, daily = inputs.persona, inputs.state.daily
        key = (
            persona.id,
            persona.updated_at,
            persona.name,
            inputs.user_name,
            daily.day if daily else None,
            inputs.media_instructions,
        )
        cached = self._system_cache.get(key)
        if cached is not None:
            self._system_cache.move_to_end(key)
            return cached
        ctx = persona_context(persona, inputs.user_name, inputs.media_instructions, inputs.state)
        text = self.templates.render("system", persona.language, **ctx)
        value = (text, self.count_tokens(text) + self.budget.per_message_overhead)
        self._system_cache[key] = value
        if len(self._system_cache) > _SYSTEM_CACHE_SIZE:
            self._system_cache.popitem(last=False)
        return value


def parse_examples(persona: Persona, user_name: str) -> list[ChatMessage]:
    """The card's `mes_example` (`<START>` blocks of `{{user}}:` / `{{char}}:` lines) as turns."""
    text = persona.card.data.mes_example
    messages: list[ChatMessage] = []
    for block in _START.split(text):
        role: str | None = None
        lines: list[str] = []
        for line in block.splitlines():
            match = _EXAMPLE_LINE.match(line)
            if match:
                if role and lines:
                    messages.append(_example(role, lines, persona.name, user_name))
                who = (match.group(2) or match.group(3)).lower()
                role = "user" if who == "user" else "assistant"
                lines = [line[match.end() :]]
            elif role:
                lines.append(line)
        if role and lines:
            messages.append(_example(role, lines, persona.name, user_name))
    return [m for m in messages if m.content]


def _example(role: str, lines: list[str], char: str, user: str) -> ChatMessage:
    content = substitute_macros("\n".join(lines).strip(), char, user)
    return ChatMessage(role="user" if role == "user" else "assistant", content=content)


def _suffix_start(costs: Sequence[int], room: int) -> int:
    """Index where the longest suffix of `costs` that fits in `room` starts."""
    used = 0
    start = len(costs)
    for index in range(len(costs) - 1, -1, -1):
        if used + costs[index] > room:
            break
        used += costs[index]
        start = index
    return start


def _drop_lowest_priority(lore: list[SelectedLore]) -> list[SelectedLore]:
    victim = min(range(len(lore)), key=lambda i: (lore[i].priority, -lore[i].insertion_order, -i))
    return lore[:victim] + lore[victim + 1 :]
