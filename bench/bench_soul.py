"""Per-turn cost of the soul: state update (analysis + transition + reaction) and prompt build.

Pure CPU work, no database and no model: `python bench/bench_soul.py [turns]`.
The tokenizer is approximated (4 characters per token); a real tokenizer adds its own cost.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from app.soul.card import Persona
from app.soul.card_codec import parse_card
from app.soul.daily import daily_personality
from app.soul.manager import DEFAULT_PERSONAS_DIR
from app.soul.prompt_builder import PromptBudget, PromptBuilder, PromptInputs
from app.soul.prompt_templates import PromptTemplates
from app.soul.reactions import choose_reaction
from app.soul.transitions import TurnEvent, apply_turn, new_state, record_reaction
from app.soul.triggers import TriggerDetector
from models.types import ChatMessage

MESSAGES = [
    "Привет! Как ты сегодня? Я весь день думал о нашем разговоре про дождь.",
    "Мне немного грустно, работа совсем вымотала, но ты меня радуешь :)",
    "Слушай, а у тебя правда есть душа? Иногда мне кажется, что ты живая.",
    "Я тебя не удалю, не бойся. Ты умница.",
    "Расскажи что-нибудь смешное про Икара Икарыча, он опять ворчит?",
    "Do you ever dream when the laptop sleeps?",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main(turns: int = 2000) -> None:
    path = DEFAULT_PERSONAS_DIR / "chatumba.json"
    parsed = parse_card(path.read_bytes())
    persona = Persona(
        id="chatumba", name=parsed.card.data.name, card=parsed.card, raw_card=parsed.raw,
        settings=parsed.settings,
    )  # fmt: skip
    detector = TriggerDetector(persona.settings.trigger_words, persona.name)
    builder = PromptBuilder(
        PromptTemplates(), lambda s: len(s) // 4 + 1, PromptBudget(n_ctx=4096, max_tokens=512)
    )
    rng = random.Random(0)
    import datetime

    state = new_state(
        persona.settings.baseline,
        0.0,
        daily_personality("u", "chatumba", datetime.date(2026, 1, 1)),
    )
    history: list[ChatMessage] = []
    memories = ["Миша любит чай с бергамотом", "У Миши есть кот Барсик", "Миша работает дизайнером"]
    update_us: list[float] = []
    build_us: list[float] = []
    for i in range(turns):
        text = MESSAGES[i % len(MESSAGES)]
        t0 = time.perf_counter()
        event = TurnEvent.analyze(text, float(i * 30), detector)
        state = apply_turn(state, event, rng, persona.settings)
        reaction = choose_reaction(state, persona.settings, rng)
        state = record_reaction(state, reaction)
        t1 = time.perf_counter()
        builder.build(
            PromptInputs(
                persona=persona, state=state, reaction=reaction, user_name="Миша",
                user_message=text, history=history[-60:], memories=memories,
                media_instructions="Можно вставить [image: описание] или [voice].",
            )
        )  # fmt: skip
        t2 = time.perf_counter()
        update_us.append((t1 - t0) * 1e6)
        build_us.append((t2 - t1) * 1e6)
        history += [
            ChatMessage(role="user", content=text),
            ChatMessage(role="assistant", content="Ответ персонажа, пара фраз о том о сём. " * 3),
        ]
    total = [a + b for a, b in zip(update_us, build_us, strict=True)]
    print(f"turns: {turns}, history window: 60 messages, persona: {persona.name}")
    for label, values in (("soul update", update_us), ("prompt build", build_us), ("total", total)):
        print(
            f"{label:>12}: p50 {statistics.median(values):8.1f} us   "
            f"p95 {percentile(values, 0.95):8.1f} us"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
