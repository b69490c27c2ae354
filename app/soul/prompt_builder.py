"""Assembles the chat prompt (real roles, `list[ChatMessage]`) within the context budget.

Layout, chosen so the model re-reads nothing it has already read (docs/benchmarks.md,
"Only new tokens per turn", has the measurements):

1. system: persona card, rules, media instructions (changes only when the persona is
   edited);
2. example dialogue as user/assistant turns; the last message of 1-2 carries
   `cache="prefix"`: this stable prefix is the same for every user and conversation of the
   persona, so a local backend keeps one saved KV state of it and starts every new
   conversation there (`stable_prefix()` gives the same messages for a warm-up);
3. system: today's temperament and usual mood (per user and day; stable within a
   conversation's day), also `cache="prefix"`: a user's later new conversations of the day
   start after it;
4. recent history, oldest first (append-only between turns);
5. a short system note, `cache="volatile"`: state in words, reaction, lore, memories
   (every turn);
6. the new user message.

After the reply the backend cuts the note out of its KV cache (llama.cpp shifts what
follows), so the next prompt - the same history plus the reply, a new note and message -
matches the cache up to the end of the reply and only the new note and message are
evaluated. Servers without that cut (OpenAI-compatible) re-read from the old note's place
onwards, as before. When the history must be trimmed the prefix shifts once;
`history_trim_slack` trims a little extra so that the next few turns share a prefix again
instead of shifting every turn.

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
from app.soul.prompt_context import persona_context, state_context, talk_level
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
    # The user's own name (from the profile) for the note; `user_name` stays in the system
    # prompt, so one warmed prefix still serves every conversation with the persona.
    known_name: str | None = None
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
        self._system_cache: OrderedDict[tuple[object, ...], _SystemParts] = OrderedDict()

    def cost(self, message: ChatMessage) -> int:
        """Tokens a message takes in the prompt, role markers included."""
        return self.count_tokens(message.content) + self.budget.per_message_overhead

    def build(self, inputs: PromptInputs) -> BuiltPrompt:
        """The prompt for this turn; never longer than `budget.available` tokens."""
        persona, state = inputs.persona, inputs.state
        lang = persona.language
        available = self.budget.available
        overhead = self.budget.per_message_overhead

        parts = self._system(inputs)
        system_text, system_cost = parts.stable, parts.stable_cost
        day = ChatMessage(role="system", content=parts.day) if parts.day else None
        user = ChatMessage(role="user", content=inputs.user_message)
        user_cost = self.cost(user)
        fixed = system_cost + user_cost + parts.day_cost

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
        note_name = inputs.known_name or inputs.user_name
        note_ctx = state_context(state, persona, note_name)
        note_ctx["reaction"] = inputs.reaction.value
        note_ctx["post_history"] = substitute_macros(
            persona.card.data.post_history_instructions, persona.name, note_name
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
        messages = _with_prefix_mark(
            [ChatMessage(role="system", content=system_text)] + (examples if use_examples else [])
        )
        if day is not None:
            # The day's temperament (and usual mood) is the same for all of this user's
            # conversations today: marked as a prefix too, so a backend that keeps states
            # saves [persona prefix + day] once and the user's next new conversation starts
            # after it (the persona prefix alone stays the warm start for other users).
            messages.append(day.model_copy(update={"cache": "prefix"}))
        messages.extend(kept_history)
        messages.append(ChatMessage(role="system", content=note_text, cache="volatile"))
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
        """The whole system text, today's temperament included (inner-life prompts)."""
        parts = self._system(_inputs(persona, state, user_name, media))
        return ChatMessage(role="system", content=parts.full)

    def stable_prefix(
        self,
        persona: Persona,
        user_name: str,
        media: str | None = None,
        include_examples: bool = True,
    ) -> list[ChatMessage]:
        """The messages every conversation with this persona starts with, exactly as
        `build` sends them while the budget keeps the examples: what a backend warms up."""
        parts = self._system(_inputs(persona, SoulState(), user_name, media))
        examples = parse_examples(persona, user_name) if include_examples else []
        return _with_prefix_mark([ChatMessage(role="system", content=parts.stable), *examples])

    def _system(self, inputs: PromptInputs) -> _SystemParts:
        """The card text without and with today's temperament, cached while persona, user,
        media and temperament agree.

        The temperament differs per user and day, so it is not part of the stable prefix
        that all conversations share: it is the tail `system.*.j2` prints last (`daily`),
        sent as its own message after the examples. A template that prints it elsewhere
        still works: its whole text is then the system message (and the prefix is per user).
        Edits to `system.*.j2` apply to new builders (or after a restart), not to cached keys.
        """
        persona, daily = inputs.persona, inputs.state.daily
        key = (
            persona.id,
            persona.updated_at,
            persona.name,
            inputs.user_name,
            inputs.media_instructions,
            (
                talk_level(daily.talkativeness),
                daily.focus,
                daily.quirk,
                tuple(sorted(daily.mood_offsets.items())),  # the usual mood of the day
            )
            if daily
            else None,
        )
        cached = self._system_cache.get(key)
        if cached is not None:
            self._system_cache.move_to_end(key)
            return cached
        ctx = persona_context(persona, inputs.user_name, inputs.media_instructions, inputs.state)
        full = self.templates.render("system", persona.language, **ctx)
        stable, day = full, ""
        if daily is not None:
            bare = self.templates.render("system", persona.language, **{**ctx, "daily": None})
            if full.startswith(bare) and len(full) > len(bare):
                stable, day = bare, full[len(bare) :].strip()
        overhead = self.budget.per_message_overhead
        value = _SystemParts(
            full=full,
            stable=stable,
            stable_cost=self.count_tokens(stable) + overhead,
            day=day,
            day_cost=self.count_tokens(day) + overhead if day else 0,
        )
        self._system_cache[key] = value
        if len(self._system_cache) > _SYSTEM_CACHE_SIZE:
            self._system_cache.popitem(last=False)
        return value


class _SystemParts(BaseModel):
    full: str
    stable: str
    stable_cost: int
    day: str
    day_cost: int


def _inputs(persona: Persona, state: SoulState, user_name: str, media: str | None) -> PromptInputs:
    return PromptInputs(
        persona=persona,
        state=state,
        reaction=Reaction.NORMAL,
        user_name=user_name,
        user_message="",
        media_instructions=media,
    )


def _with_prefix_mark(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The last message of the stable prefix carries the hint (a copy: examples are shared)."""
    last = messages[-1].model_copy(update={"cache": "prefix"})
    return [*messages[:-1], last]


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
