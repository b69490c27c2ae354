"""Where should the soul's per-turn note go? Tokens re-read per turn, for each layout.

    python -m bench.bench_prompt_layout [--turns 20] [--quality] [--model qwen2.5-coder-1.5b]

The real prompt builder, templates and «Чатумба» persona build a conversation (bench_chat's
questions, canned replies of a typical length, two recalled memories that change every
turn); the model's own tokenizer counts, for each layout, how many prompt tokens a turn
must evaluate given what the KV cache holds after the previous turn:

- today:      the note sits before the newest message and is dropped next turn (before
              issue 12): the previous exchange is read again;
- keep notes: every turn's note stays in the history (exact, but the context fills with
              old notes and the model keeps seeing stale states);
- note last:  the note after the newest message, dropped next turn;
- cut (ours): the note before the newest message, cut out of the KV after the reply
              (`models/kv_state.cut`); what follows it keeps the KV it was computed with.

Token counts do not depend on the machine, so they are the figures to compare; seconds are
counts / the measured prompt speed. `--quality` also loads the model and compares, a few
turns in, the reference reply's mean negative log-likelihood and top-1 agreement under the
cut KV and under the keep-notes prompt against a fresh evaluation of today's prompt (the
approximation's cost).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.soul.card import Persona
from app.soul.card_codec import parse_card
from app.soul.daily import daily_personality
from app.soul.manager import DEFAULT_PERSONAS_DIR
from app.soul.prompt_builder import PromptBudget, PromptBuilder, PromptInputs
from app.soul.prompt_templates import PromptTemplates
from app.soul.state import Reaction
from app.soul.transitions import new_state
from bench.bench_chat import QUESTIONS
from config.settings import CONFIG_DIR
from media.markers import marker_instructions
from models.chat_render import ChatRenderer
from models.kv_state import common_prefix
from models.packaged import resolve_packaged
from models.profiles import load_profiles
from models.types import ChatMessage

REPLIES = [
    "Oh, hello Marta! I'm doing wonderfully, thank you for asking. The morning felt soft and "
    "slow, and I spent it thinking about small things. How about you, how was your day?",
    "On rainy days I like to listen to the drops on the window and imagine where each one "
    "travelled from. A warm cup of tea and a quiet story make everything feel cosy.",
    "Owls can turn their heads about 270 degrees, and their feathers are so soft that they "
    "fly almost without a sound. They always look a little wise and a little surprised.",
    "Of course I remember: you're Marta! You told me at the very start, and I keep it close.",
    "Try 'The Little Prince' if you want something gentle, or 'Piranesi' if you'd like a "
    "strange, beautiful house full of tides and statues. Both feel like a quiet evening.",
    "Sunlight scatters in the air, and blue light scatters the most, so the whole sky glows "
    "blue. At sunset the light travels further and the reds and oranges win instead.",
    "How about a warm vegetable soup with fresh bread? It's simple, it fills the kitchen "
    "with a lovely smell, and it's perfect if the evening turns chilly.",
    "Why did the owl invite his friends over? Because he didn't want to be owl by himself!",
    "Pick one small task, set a timer for twenty-five minutes, and put the phone in another "
    "room. Short breaks help too: stretch, drink some water, look out of the window.",
    "Autumn, I think: the light turns golden, the air smells of leaves, and every evening "
    "invites a blanket and a long conversation.",
]
MEMORIES = [
    "Marta likes owls.",
    "Marta's favourite tea is bergamot.",
    "Marta works as a designer.",
    "Marta has a cat called Barsik.",
    "Marta enjoys rainy evenings.",
    "Marta is reading a fantasy novel.",
]


def build_turns(turns: int, renderer: ChatRenderer) -> list[dict[str, Any]]:
    """Each turn's messages as the app builds them, plus the reply that follows."""
    path = DEFAULT_PERSONAS_DIR / "chatumba.json"
    parsed = parse_card(path.read_bytes())
    persona = Persona(
        id="chatumba", name=parsed.card.data.name, card=parsed.card, raw_card=parsed.raw,
        settings=parsed.settings,
    )  # fmt: skip
    count = lambda text: len(renderer.render_head([ChatMessage(role="user", content=text)]))  # noqa: E731
    builder = PromptBuilder(PromptTemplates(), count, PromptBudget(n_ctx=8192, max_tokens=512))
    state = new_state(
        persona.settings.baseline, 0.0, daily_personality("u", "chatumba", datetime.date.today())
    )
    media = marker_instructions(persona.language)
    history: list[ChatMessage] = []
    out = []
    for i in range(turns):
        question = QUESTIONS[i % len(QUESTIONS)]
        memories = [MEMORIES[i % len(MEMORIES)], MEMORIES[(i + 2) % len(MEMORIES)]]
        built = builder.build(
            PromptInputs(
                persona=persona, state=state, reaction=list(Reaction)[i % 4], user_name="Marta",
                user_message=question, history=list(history), memories=memories,
                media_instructions=media,
            )
        )  # fmt: skip
        reply = REPLIES[i % len(REPLIES)]
        out.append({"messages": built.messages, "reply": reply})
        history += [ChatMessage(role="user", content=question)]
        history += [ChatMessage(role="assistant", content=reply)]
    return out


def layouts(turns: list[dict[str, Any]]) -> dict[str, list[list[ChatMessage]]]:
    """The same conversation's prompts under each layout."""
    today, keep, last = [], [], []
    old_notes: list[ChatMessage] = []
    for turn in turns:
        msgs: list[ChatMessage] = turn["messages"]
        note, user = msgs[-2], msgs[-1]
        body = msgs[:-2]
        today.append(msgs)
        last.append([*body, user, note])
        # keep notes: every earlier user message is preceded by its own turn's note
        kept: list[ChatMessage] = []
        n_hist_users = 0
        for m in body:
            if m.role == "user" and m.content in QUESTIONS:  # a history message
                kept.append(old_notes[n_hist_users])
                n_hist_users += 1
            kept.append(m)
        keep.append([*kept, note, user])
        old_notes.append(note.model_copy(update={"cache": None}))
    return {"today": today, "keep notes": keep, "note last": last, "cut (ours)": today}


def evaluated(
    prompts: list[list[ChatMessage]], replies: list[str], renderer: ChatRenderer, cut: bool
) -> tuple[list[int], list[int]]:
    """New tokens each turn must evaluate, given the KV left by the turn before."""
    kv: list[int] = []
    news, sizes = [], []
    for messages, reply in zip(prompts, replies, strict=True):
        rendered = renderer.render(messages)
        tokens = rendered.tokens
        keep = common_prefix(kv, tokens)
        news.append(len(tokens) - min(keep, len(tokens) - 1))
        sizes.append(len(tokens))
        kv = tokens + renderer.tokenize(reply)  # what the model generated
        if cut:
            for start, end in sorted(rendered.volatile, reverse=True):
                kv = kv[:start] + kv[end:]
    return news, sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".local/share/ikar/models")
    args = parser.parse_args()
    import llama_cpp

    profile = load_profiles(CONFIG_DIR / "models.toml")[args.model]
    path = resolve_packaged(profile.package, args.models_dir) if profile.package else profile.path
    assert path is not None
    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    renderer = ChatRenderer(vocab, vocab.metadata["tokenizer.chat_template"])
    turns = build_turns(args.turns, renderer)
    replies = [t["reply"] for t in turns]
    print(f"# bench_prompt_layout  {time.strftime('%Y-%m-%d %H:%M')}  model={args.model}")
    prefix_end = renderer.render(turns[0]["messages"]).prefix_end
    print(f"stable persona prefix: {prefix_end} tokens; turns: {args.turns}")
    rows = {}
    for name, prompts in layouts(turns).items():
        news, sizes = evaluated(prompts, replies, renderer, cut=name == "cut (ours)")
        rows[name] = (news, sizes)
    picks = [i for i in (1, 4, 9, args.turns - 1) if i < args.turns]
    print("\n## Prompt tokens evaluated per turn (what the KV cache does not already hold)")
    head = " | ".join(f"turn {i + 1}" for i in picks)
    print(f"| layout | {head} | median, turns 2+ | prompt size at the last turn |")
    print("|---|" + "---|" * len(picks) + "---|---|")
    for name, (news, sizes) in rows.items():
        cells = " | ".join(str(news[i]) for i in picks)
        print(f"| {name} | {cells} | {statistics.median(news[1:]):.0f} | {sizes[-1]} |")
    if args.quality:
        quality(path, turns, renderer, args.threads)


def quality(path: Path, turns: list[dict[str, Any]], renderer: ChatRenderer, threads: int) -> None:
    """Reference reply NLL under: fresh today's prompt, cut KV, keep-notes prompt."""
    import llama_cpp

    from models import kv_state as kv

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=8192, n_threads=threads, verbose=False)
    all_layouts = layouts(turns)
    replies = [t["reply"] for t in turns]
    print("\n## What the cut costs in quality (reference = greedy reply on a fresh prompt)")
    print("| turn | NLL fresh | NLL cut KV | NLL keep-notes | top-1 agree cut | keep-notes |")
    print("|---|---|---|---|---|---|")
    for t in (2, 4):
        if t >= len(turns):
            break
        fresh_prompt = renderer.render(all_layouts["today"][t]).tokens
        kv.clear(llm)
        ref = _greedy(llm, fresh_prompt, 32)
        fresh = _score(llm, fresh_prompt, ref, start_from_scratch=True)
        # cut: replay the conversation turn by turn with the cut, as the backend does
        kv.clear(llm)
        for i in range(t):
            r = renderer.render(all_layouts["today"][i])
            kv.extend(llm, r.tokens, len(r.tokens))
            llm.eval(renderer.tokenize(replies[i]))
            for start, end in sorted(r.volatile, reverse=True):
                kv.cut(llm, start, end)
        cut = _score(llm, fresh_prompt, ref, start_from_scratch=False)
        keep = _score(llm, renderer.render(all_layouts["keep notes"][t]).tokens, ref, True)
        print(
            f"| {t + 1} | {fresh[0]:.3f} | {cut[0]:.3f} | {keep[0]:.3f} | "
            f"{cut[1]:.0%} | {keep[1]:.0%} |"
        )
    llm.close()


def _greedy(llm: Any, prompt: list[int], n: int) -> list[int]:
    out = []
    for token in llm.generate(prompt, temp=0.0, top_k=1, repeat_penalty=1.0):
        if llm.token_eos() == token or len(out) >= n:
            break
        out.append(token)
    return out


def _score(
    llm: Any, prompt: list[int], ref: list[int], start_from_scratch: bool
) -> tuple[float, float]:
    """Mean NLL of `ref` after `prompt`, and how often `ref`'s token is the top-1 choice."""
    import llama_cpp

    from models import kv_state as kv

    if start_from_scratch:
        kv.clear(llm)
    kv.extend(llm, prompt, len(prompt) - 1)
    nll, agree = [], 0
    feed = [prompt[-1], *ref[:-1]]
    for token, target in zip(feed, ref, strict=True):
        llm.eval([token])
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)
        ).astype(np.float64)
        logp = logits - logits.max()
        logp -= np.log(np.exp(logp).sum())
        nll.append(-logp[target])
        agree += int(np.argmax(logits) == target)
    return float(np.mean(nll)), agree / len(ref)


if __name__ == "__main__":
    main()
