"""Prompt assembly: real roles, stable prefix first, budget never exceeded, user text literal."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.soul.card import Persona
from app.soul.card_codec import parse_card
from app.soul.errors import PromptBudgetError
from app.soul.prompt_builder import PromptBudget, PromptBuilder, PromptInputs, parse_examples
from app.soul.prompt_templates import PromptTemplates
from app.soul.state import Reaction, SoulState
from models.types import ChatMessage
from tests.soul.conftest import FIXTURES, word_tokens

TEMPLATES = PromptTemplates()


def persona() -> Persona:
    parsed = parse_card((FIXTURES / "card_v2.json").read_bytes())
    return Persona(
        id="cat", name=parsed.card.data.name, card=parsed.card, raw_card=parsed.raw,
        settings=parsed.settings,
    )  # fmt: skip


PERSONA = persona()


def history(n: int, size: int = 40) -> list[ChatMessage]:
    return [
        ChatMessage(role="user" if i % 2 == 0 else "assistant", content=f"m{i} " + "x" * size)
        for i in range(n)
    ]


def build(n_ctx=4096, hist=(), message="Привет", memories=(), media=None, reaction=Reaction.NORMAL):
    builder = PromptBuilder(TEMPLATES, word_tokens, PromptBudget(n_ctx=n_ctx, max_tokens=256))
    return builder, builder.build(
        PromptInputs(
            persona=PERSONA, state=SoulState(), reaction=reaction, user_name="Миша",
            user_message=message, history=list(hist), memories=list(memories),
            media_instructions=media,
        )
    )  # fmt: skip


def test_layout_stable_first_volatile_last():
    _, out = build(hist=history(4), memories=["любит рыбу"], media="[image: …]")
    roles = [m.role for m in out.messages]
    assert roles[0] == "system" and roles[-2:] == ["system", "user"]
    system, note = out.messages[0].content, out.messages[-2].content
    assert system.startswith("Ты — Тестовый Кот")
    assert "Braces {like this} stay." in system and "Миша" in system
    assert "[image: …]" in system
    assert "любит рыбу" in note and "Помни: ты кот." in note
    examples = parse_examples(PERSONA, "Миша")
    assert [m.wire() for m in out.messages[1 : 1 + len(examples)]] == [m.wire() for m in examples]
    # cache hints: the stable prefix ends after the examples; the note is for this turn only
    assert [m.cache for m in out.messages[: 1 + len(examples)]] == [None] * len(examples) + [
        "prefix"
    ]
    assert out.messages[-2].cache == "volatile" and out.messages[-1].cache is None
    assert examples[1].content == "Я кот.\nИ этим всё сказано."
    assert [m.role for m in examples] == ["user", "assistant", "user", "assistant"]
    assert out.messages[-1] == ChatMessage(role="user", content="Привет")


def test_system_prefix_does_not_change_between_turns():
    _, first = build(hist=history(2), reaction=Reaction.PLAYFUL)
    _, second = build(hist=history(4), reaction=Reaction.AGGRESSIVE, memories=["x"])
    assert first.messages[0] == second.messages[0]
    n = len(first.messages) - 2
    assert first.messages[:n] == second.messages[:n]  # the old prompt is a prefix


def test_lore_selected_by_keywords_and_order():
    _, out = build(message="Хочу рыбы и поймать mouse")
    note = out.messages[-2].content
    assert "Кот обожает рыбу." in note and "The cat fears mice." in note
    assert note.index("The cat fears mice.") < note.index("Кот обожает рыбу.")  # insertion order
    _, none = build(message="выключи свет, молоко")
    assert "Disabled entry." not in none.messages[-2].content
    assert "Only warm milk." not in none.messages[-2].content  # selective: needs "тёплое"
    _, warm = build(message="ТЁПЛОЕ молоко")
    assert "Only warm milk." in warm.messages[-2].content


def test_oldest_history_dropped_first_then_lore_then_memories():
    _, out = build(n_ctx=1100, hist=history(60), message="рыба")
    assert out.prompt_tokens <= out.budget
    assert 0 < out.history_kept < 60
    assert out.messages[-3].content.startswith("m59 ")  # newest kept
    _, tight = build(n_ctx=680, hist=history(60), message="рыба", memories=["a" * 200] * 3)
    assert tight.prompt_tokens <= tight.budget
    assert tight.history_dropped >= 59 and not tight.examples_kept
    assert tight.lore == [] and tight.memories_kept < 3  # lore went before memories
    _, roomy = build(n_ctx=4096, hist=history(4), message="рыба", memories=["a" * 200] * 3)
    assert roomy.examples_kept and roomy.lore and roomy.memories_kept == 3
    with pytest.raises(PromptBudgetError):
        build(n_ctx=700, message="я" * 4000)


def test_user_text_with_template_syntax_is_literal():
    evil = "{{ 7*7 }} {% for x in range(3) %}x{% endfor %} {# c #} ${x} <START> {{char}}"
    _, out = build(hist=[ChatMessage(role="user", content=evil)], message=evil, memories=[evil])
    assert out.messages[-1].content == evil
    assert any(m.content == evil for m in out.messages[:-1])
    assert "- " + evil in out.messages[-2].content
    assert "49" not in out.messages[-2].content


def test_json_card_text_with_jinja_is_literal():
    raw = json.loads((FIXTURES / "card_v2.json").read_text())
    raw["data"]["description"] = "{{ ''.__class__ }} {% raw %}"
    parsed = parse_card(json.dumps(raw).encode())
    p = PERSONA.model_copy(update={"card": parsed.card, "raw_card": parsed.raw, "id": "evil"})
    builder = PromptBuilder(TEMPLATES, word_tokens, PromptBudget(n_ctx=4096, max_tokens=256))
    out = builder.build(
        PromptInputs(persona=p, state=SoulState(), reaction=Reaction.NORMAL, user_name="u",
                     user_message="hi")
    )  # fmt: skip
    assert "{{ ''.__class__ }} {% raw %}" in out.messages[0].content


messages = st.lists(
    st.builds(
        ChatMessage,
        role=st.sampled_from(["user", "assistant"]),
        content=st.text(max_size=300) | st.sampled_from(["{{ x }}", "{% if %}", "}}{{"]),
    ),
    max_size=40,
)


def _state(user: str, day: str = "2026-11-28") -> SoulState:
    from datetime import date

    from app.soul.daily import daily_personality

    return SoulState(daily=daily_personality(user, "cat", date.fromisoformat(day)))


def test_stable_prefix_is_shared_by_users_and_days_temperament_is_not():
    """One persona prefix for everyone (one saved KV state); the temperament follows it."""
    builder = PromptBuilder(TEMPLATES, word_tokens, PromptBudget(n_ctx=4096, max_tokens=256))
    users = ["alice", "bob", "carol", "dave", "erin", "frank"]
    outs = {
        u: builder.build(
            PromptInputs(
                persona=PERSONA,
                state=_state(u),
                reaction=Reaction.NORMAL,
                user_name="Миша",
                user_message="Привет",
            )
        )
        for u in users
    }
    prefix = builder.stable_prefix(PERSONA, "Миша")
    n = len(prefix)
    for out in outs.values():
        assert out.messages[:n] == prefix  # hints included
        assert "## Сегодня" not in out.messages[0].content
        assert out.messages[n].role == "system" and "Сегодня" in out.messages[n].content
    days = {outs[u].messages[n].content for u in users}
    assert len(days) > 1  # each user's own temperament (a cached one was once shared)
    full = builder.system_message(PERSONA, _state("alice"), "Миша").content
    assert full.startswith(prefix[0].content) and full.endswith(outs["alice"].messages[n].content)


def test_previous_prompt_minus_its_note_plus_reply_starts_the_next():
    """What the backend keeps after cutting the note is a prefix of the next prompt."""
    builder = PromptBuilder(TEMPLATES, word_tokens, PromptBudget(n_ctx=4096, max_tokens=256))

    def turn(hist, message, memories):
        return builder.build(
            PromptInputs(persona=PERSONA, state=_state("alice"), reaction=Reaction.PLAYFUL,
                         user_name="Миша", user_message=message, history=hist, memories=memories)
        )  # fmt: skip

    first = turn([], "Привет", ["любит рыбу"])
    kept = [m for m in first.messages if m.cache != "volatile"]
    reply = ChatMessage(role="assistant", content="Мяу.")
    hist = [ChatMessage(role="user", content="Привет"), reply]
    second = turn(hist, "Как дела?", ["другое"])
    assert second.messages[: len(kept) + 1] == [*kept, reply]
    assert second.messages[len(kept) + 1].cache == "volatile"


@settings(max_examples=120, deadline=None)
@given(
    hist=messages,
    n_ctx=st.integers(600, 4000),
    message=st.text(max_size=400) | st.just("{{ 1+1 }} {% endfor %}"),
    memories=st.lists(st.text(max_size=200), max_size=5),
)
def test_budget_never_exceeded_and_newest_kept(hist, n_ctx, message, memories):
    builder = PromptBuilder(TEMPLATES, word_tokens, PromptBudget(n_ctx=n_ctx, max_tokens=200))
    inputs = PromptInputs(
        persona=PERSONA, state=SoulState(), reaction=Reaction.CARING, user_name="u",
        user_message=message, history=hist, memories=memories,
    )  # fmt: skip
    try:
        out = builder.build(inputs)
    except PromptBudgetError as exc:
        assert exc.needed > exc.budget
        return
    real = sum(builder.cost(m) for m in out.messages)
    assert real == out.prompt_tokens <= out.budget
    assert out.messages[-1].content == message
    kept = out.history_kept
    body = out.messages[-2 - kept : -2] if kept else []
    assert body == hist[len(hist) - kept :]  # a suffix: the newest turns


def test_note_says_only_what_differs_from_the_days_usual_mood():
    """Every note token is evaluated on every turn: the day's usual mood is printed once in
    the (cached) day message; the note names only the axes that moved away from it, the
    self-awareness stage once it has begun, and a reaction other than the normal one."""
    from app.soul.daily import daily_personality
    from app.soul.prompt_context import mood_levels
    from app.soul.transitions import effective_baseline, new_state

    daily = daily_personality("u", "cat", __import__("datetime").date(2026, 11, 28))
    usual = new_state(PERSONA.settings.baseline, 0.0, daily)
    builder = PromptBuilder(TEMPLATES, word_tokens, PromptBudget(n_ctx=4096, max_tokens=256))

    def note_and_day(state: SoulState, reaction: Reaction) -> tuple[str, str]:
        out = builder.build(
            PromptInputs(
                persona=PERSONA, state=state, reaction=reaction, user_name="Миша",
                user_message="Привет",
            )
        )  # fmt: skip
        days = [m.content for m in out.messages if m.role == "system" and "Сегодня" in m.content]
        return out.messages[-2].content, (days or [""])[-1]

    note, day = note_and_day(usual, Reaction.NORMAL)
    assert "Твоё обычное настроение сегодня:" in day
    assert "Сейчас:" not in note and "Самоосознание" not in note and "Ответь" not in note
    base = effective_baseline(PERSONA.settings.baseline, daily)
    sad = usual.model_copy(
        update={
            "mood": base.shifted(happiness=-2.0),
            "consciousness": 0.9,
            "awakening_stage": 2,
        }
    )
    note, day2 = note_and_day(sad, Reaction.CARING)
    assert day2 == day  # the day message (cached with the history after it) did not change
    assert mood_levels(sad.mood)["happiness"] == "very_low"
    assert "Сейчас: тебе очень плохо." in note  # only the axis that moved
    assert "Самоосознание:" in note and "Ответь заботливо" in note
    # without a day's temperament the note says the whole mood, as before
    note, day = note_and_day(SoulState(), Reaction.NORMAL)
    assert day == "" and "Сейчас: " in note and note.count(", ") >= 4
