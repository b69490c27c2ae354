"""Which prompt tokens does each chat turn evaluate? Counts per part of the prompt.

    python -m bench.trace_turn_tokens [--turns 5] [--model qwen2.5-coder-1.5b]

The real app (in this process, a fresh data folder, the default persona, greedy replies of
`--max-tokens`) answers one conversation turn by turn; for each turn the prompt it sent
(IKAR_DEBUG_PROMPT_LOG) is rendered with the model's template and the tokens that were
evaluated (those after the `cached_tokens` the backend reported) are attributed to the part
of the prompt they belong to: the stable prefix, the day's temperament, the history (the
previous exchange), the turn's note, the new user message, and the assistant header. The
note's own size is printed too, since it is what a turn always pays for.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.factory import create_app
from bench.bench_chat import QUESTIONS, write_profile
from config.settings import CONFIG_DIR, Settings
from models.chat_render import ChatRenderer
from models.packaged import resolve_packaged
from models.profiles import load_profiles
from models.types import ChatMessage


def parts(messages: list[ChatMessage]) -> list[str]:
    """A name for each message: what it is in the prompt's layout."""
    names: list[str] = []
    seen_prefix = any(m.cache == "prefix" for m in messages)
    in_prefix = seen_prefix
    for i, m in enumerate(messages):
        if in_prefix:
            names.append("prefix")
            if m.cache == "prefix":
                in_prefix = False
            continue
        if m.cache == "volatile":
            names.append("note")
        elif i == len(messages) - 1:
            names.append("message")
        elif m.role == "system" and names and names[-1] == "prefix":
            names.append("day")
        else:
            names.append(f"history:{m.role}")
    return names


def attribute(
    renderer: ChatRenderer, messages: list[ChatMessage], cached: int
) -> tuple[dict[str, int], dict[str, int], int]:
    """Evaluated tokens per part, all tokens per part, and the prompt's length."""
    wire = [m.wire() for m in messages]
    bounds = [0]
    for i in range(1, len(messages) + 1):
        bounds.append(len(renderer.render_head([ChatMessage(**w) for w in wire[:i]])))
    total = len(renderer.render(messages).tokens)
    names = [*parts(messages), "header"]
    bounds.append(total)
    evaluated: dict[str, int] = {}
    size: dict[str, int] = {}
    for name, start, end in zip(names, bounds, bounds[1:], strict=False):
        size[name] = size.get(name, 0) + (end - start)
        n = max(0, end - max(start, cached))
        if n:
            evaluated[name] = evaluated.get(name, 0) + n
    return evaluated, size, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".local/share/ikar/models")
    args = parser.parse_args()
    profile = load_profiles(CONFIG_DIR / "models.toml")[args.model]
    path = resolve_packaged(str(profile.package), args.models_dir)
    print(
        f"# trace_turn_tokens {time.strftime('%Y-%m-%d %H:%M')} model={args.model} "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        profiles = data / "models.toml"
        write_profile(profiles, profile, args.max_tokens, data / "kv-states")
        log = data / "prompts.jsonl"
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=data / "app",
            models_dir=args.models_dir,
            model_profiles_file=profiles,
            default_model=args.model,
            llm_threads=os.cpu_count() or 2,
            debug_prompt_log=log,
            inner_life=False,
            language="en",
        )
        import llama_cpp

        vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        renderer = ChatRenderer(vocab, vocab.metadata["tokenizer.chat_template"])
        app = create_app(settings)
        results: list[dict[str, Any]] = []
        with TestClient(app) as client:
            while client.get("/health").json()["components"]["llm"]["state"] != "ready":
                time.sleep(0.2)
            backend = app.state.services.models.backend()
            backend.load()
            time.sleep(1.0)
            cid = None
            for text in QUESTIONS[: args.turns]:
                started = time.perf_counter()
                r = client.post("/api/chat", json={"message": text, "conversation_id": cid})
                r.raise_for_status()
                body = r.json()
                cid = body["conversation_id"]
                body["wall"] = time.perf_counter() - started
                results.append(body)
        prompts = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    print("| turn | prompt | cached | evaluated | TTFT s | evaluated by part | note size |")
    print("|---|---|---|---|---|---|---|")
    for i, (body, prompt) in enumerate(zip(results, prompts, strict=False)):
        usage = body.get("usage") or {}
        messages = [ChatMessage(**m) for m in prompt]
        evaluated, size, total = attribute(renderer, messages, usage.get("cached_tokens", 0))
        by_part = ", ".join(f"{k} {v}" for k, v in evaluated.items())
        print(
            f"| {i + 1} | {total} | {usage.get('cached_tokens')} | "
            f"{total - usage.get('cached_tokens', 0)} | "
            f"{usage.get('time_to_first_token_s') or 0:.2f} | {by_part} | {size.get('note')} |"
        )
    last = [ChatMessage(**m) for m in prompts[-1]]
    note = next((m.content for m in last if m.cache == "volatile"), "")
    print("\nlast note:\n" + note)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
