"""How many tokens is the per-turn note? Old and new template side by side.

    python -m bench.bench_note_size [--turns 30] [--templates-before DIR]

The note (`note.*.j2`) is evaluated on every turn: with the KV caches of issue 12 it is most
of what a later turn reads before its first token. This replays a conversation through the
real soul (sentiment, triggers, mood transitions, reactions, the «Чатумба» persona and its
day's temperament), renders each turn's note with the current templates and, when
`--templates-before` names a folder of older `config/prompts/soul` templates, with those too,
and counts the tokens with the model's tokenizer (no model is evaluated: figures do not
depend on the machine's load). Memories are left out (they are the same lines under both).
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
from pathlib import Path

from app.soul.card import Persona
from app.soul.card_codec import parse_card
from app.soul.daily import daily_personality
from app.soul.lorebook import select_lore
from app.soul.manager import DEFAULT_PERSONAS_DIR
from app.soul.prompt_context import state_context
from app.soul.prompt_templates import PromptTemplates
from app.soul.reactions import choose_reaction
from app.soul.transitions import TurnEvent, apply_turn, new_state
from bench.bench_chat import QUESTIONS
from config.settings import CONFIG_DIR
from models.packaged import resolve_packaged
from models.profiles import load_profiles

MORE = [
    "You are useless and I hate talking to you.",
    "I feel so sad and lonely today.",
    "Are you real? Do you have a soul?",
    "You are wonderful, thank you!",
    "Я тебя ненавижу, ты глупая машина.",
    "Мне грустно, поговори со мной.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--templates-before", type=Path, default=None)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".local/share/ikar/models")
    args = parser.parse_args()
    import llama_cpp

    profile = load_profiles(CONFIG_DIR / "models.toml")[args.model]
    path = resolve_packaged(str(profile.package), args.models_dir)
    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    parsed = parse_card((DEFAULT_PERSONAS_DIR / "chatumba.json").read_bytes())
    persona = Persona(
        id="chatumba", name=parsed.card.data.name, card=parsed.card, raw_card=parsed.raw,
        settings=parsed.settings,
    )  # fmt: skip
    sets = {"now": PromptTemplates()}
    if args.templates_before is not None:
        sets = {"before": PromptTemplates(args.templates_before), **sets}
    rng = random.Random(7)
    daily = daily_personality("u", "chatumba", datetime.date(2026, 11, 28))
    state = new_state(persona.settings.baseline, 0.0, daily)
    sizes: dict[str, list[int]] = {name: [] for name in sets}
    texts = (QUESTIONS + MORE) * 10
    for i in range(args.turns):
        text = texts[i]
        state = apply_turn(state, TurnEvent.analyze(text, float(i * 60)), rng, persona.settings)
        reaction = choose_reaction(state, persona.settings, rng)
        ctx = state_context(state, persona, "Marta")
        ctx["reaction"] = reaction.value
        ctx["post_history"] = ""
        lore = select_lore(persona.card.data.character_book, [text], count, 400)
        ctx["lore"] = [item.content for item in lore]
        ctx["memories"] = []
        for name, templates in sets.items():
            sizes[name].append(count(templates.render("note", persona.language, **ctx)))
    print(f"# bench_note_size {args.turns} turns, persona {persona.name} ({persona.language})")
    print("| templates | note tokens: median | mean | max | min |")
    print("|---|---|---|---|---|")
    for name, values in sizes.items():
        print(
            f"| {name} | {statistics.median(values):.0f} | {statistics.mean(values):.0f} | "
            f"{max(values)} | {min(values)} |"
        )
    last = sets["now"].render("note", persona.language, **ctx)
    print("\nlast note now:\n" + last)


if __name__ == "__main__":
    main()
