"""Chat speed: the app's streaming POST /api/chat against raw llama-cpp-python (and
llama_cpp.server with its prompt cache), on the same prompts, side by side in one run.

    python -m bench.bench_chat            # bundled Qwen2.5-Coder-1.5B, ~10 min on 2 idle cores
    python -m bench.bench_chat --model smollm2-135m --no-server    # a quick plumbing run

1. The app runs as users run it (`launch.py`, its own process, a fresh data folder, the
   default persona) and is driven over HTTP (SSE) through the scenarios of issue 12:
   the first conversation after install (builds the persona's prefix state), later turns,
   new conversations, two conversations alternating, a restart (then a new conversation and
   an old one), and N users opening conversations at once. It logs the exact messages it
   sent to the model (IKAR_DEBUG_PROMPT_LOG).
2. Raw llama-cpp-python (same GGUF, n_ctx, threads, greedy sampling) streams the same
   messages in the same order - what a naive app does: one `Llama`, llama.cpp's own
   longest-common-prefix reuse, a new `Llama` at the restart. Each prompt is replayed right
   after the app answered it (the app idle meanwhile), so both sides share the machine's
   load of the moment. Concurrent requests queue on the one model, so their raw TTFT adds
   the waiting time of those before them.
3. `llama_cpp.server --cache true` (its RAM prompt cache) gets the same prompts over HTTP,
   restarted at the same point (`--no-server` skips it).

Reported per scenario: time to first token, and prompt tokens evaluated (what no cache
held: independent of how busy the machine is, so the figure to compare on a noisy box);
generated tokens/s and its ratio to raw; RAM and disk held by the app's state caches; cold
start. The load average is printed at start and end: above the core count, times are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from config.settings import CONFIG_DIR
from models.chat_render import ChatRenderer
from models.kv_state import common_prefix
from models.packaged import resolve_packaged
from models.profiles import ModelProfile, load_profiles
from models.types import ChatMessage
from tests.conftest import free_port

QUESTIONS = [
    "Hi! I'm Marta. How are you today?",
    "What do you like to do on rainy days?",
    "Tell me something about owls.",
    "Do you remember my name?",
    "Recommend me a book.",
    "Why is the sky blue?",
    "What should I cook tonight?",
    "Tell me a short joke.",
    "How do I stay focused while working?",
    "What's your favourite season?",
]


@dataclass
class Turn:
    """One user message of a scenario and what each engine measured for it."""

    label: str  # which figure it counts for
    user: str
    conv: str  # scenario's conversation name
    text: str
    group: int = 0  # turns with the same non-zero group are sent at once
    prompt: list[ChatMessage] | None = None  # what the app sent (None: it answered itself)
    app: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)


def scenario(turns: int, new: int, alternating: int, concurrent: int) -> list[list[Turn]]:
    """Phases separated by a restart: [before, after]."""
    q = iter(QUESTIONS * 20)
    before = [Turn("first conversation after install (builds the prefix)", "alice", "A", next(q))]
    before += [Turn("later turn", "alice", "A", next(q)) for _ in range(turns - 1)]
    for i in range(new):
        before.append(Turn("first turn of a new conversation", f"new{i}", f"N{i}", next(q)))
    before.append(Turn("first turn of a new conversation", "bob", "B", next(q)))
    for i in range(alternating):
        who, conv = ("alice", "A") if i % 2 == 0 else ("bob", "B")
        before.append(Turn("alternating two conversations", who, conv, next(q)))
    after = [Turn("first turn after a restart (new conversation)", "dave", "D", next(q))]
    after.append(Turn("later turn after a restart (old conversation)", "alice", "A", next(q)))
    after += [
        Turn("concurrent new conversations", f"c{i}", f"C{i}", QUESTIONS[i % 10], group=1)
        for i in range(concurrent)
    ]
    return [before, after]


# -- the app over HTTP ------------------------------------------------------------------------
def stream_app(url: str, turn: Turn, conversation_id: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    first: float | None = None
    last = 0.0
    tokens = 0
    done: dict[str, Any] = {}
    body = {
        "message": turn.text,
        "conversation_id": conversation_id,
        "user_id": turn.user,
        "stream": True,
    }
    with httpx.stream("POST", url + "/api/chat", json=body, timeout=1800) as r:
        event = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "token":
                    last = time.perf_counter() - started
                    if first is None:
                        first = last
                    tokens += 1
                elif event == "done":
                    done = json.loads(line[6:])
                elif event == "error":
                    raise RuntimeError(line)
    total = time.perf_counter() - started
    usage = done.get("usage") or {}
    return _timings(first, last, total, tokens) | {
        "tokens": usage.get("completion_tokens", tokens),
        "evaluated": usage.get("prompt_tokens", 0) - usage.get("cached_tokens", 0),
        "conversation_id": done.get("conversation_id"),
        "model_called": bool(usage),  # a persona's pause is answered without the model
    }


def _timings(first: float | None, last: float, total: float, tokens: int) -> dict[str, Any]:
    """Tokens/s between the first and the last token, the same on every side; the time
    after the last token (the app stores and remembers the reply) is reported as the tail."""
    span = last - (first or 0.0)
    return {
        "ttft": first or total,
        "total": total,
        "tail": total - last,
        "tps": (tokens - 1) / span if span > 0 else 0.0,
    }


def run_phase(
    url: str,
    turns: list[Turn],
    convs: dict[str, str | None],
    after: Callable[[list[Turn]], None],
) -> None:
    """Sequential turns one by one; a concurrent group all at once; `after` each of them."""
    i = 0
    while i < len(turns):
        group = [turns[i]]
        if turns[i].group:
            while i + len(group) < len(turns) and turns[i + len(group)].group == turns[i].group:
                group.append(turns[i + len(group)])
        threads = []
        for turn in group:

            def go(t: Turn = turn) -> None:
                try:
                    t.app = stream_app(url, t, convs.get(t.conv))
                    convs[t.conv] = t.app["conversation_id"]
                except (RuntimeError, httpx.HTTPError) as exc:
                    print(f"turn of {t.user} failed: {exc}", flush=True)

            threads.append(threading.Thread(target=go))
        for t in threads:
            t.start()
            if len(group) > 1:
                time.sleep(0.05)  # in order, so the prompt log and the replay agree
        for t in threads:
            t.join()
        after(group)
        i += len(group)


def write_profile(path: Path, profile: ModelProfile, max_tokens: int, state_dir: Path) -> None:
    """The benchmarked profile with greedy sampling, so every side generates the same tokens;
    its KV states live in the run's temp folder (a rerun starts cold, like a fresh install)."""
    lines = [f'[models."{profile.name}"]', f'source = "{profile.source}"']
    for key in ("package", "path", "url", "api_model"):
        value = getattr(profile, key)
        if value is not None:
            lines.append(f"{key} = {json.dumps(str(value))}")
    lines += [
        f"n_ctx = {profile.n_ctx}",
        f"max_tokens = {max_tokens}",
        "timeout_s = 1800",
        f"gpu_layers = {profile.gpu_layers}",
        f"sampling = {{ temperature = 0.0, top_p = {profile.sampling.top_p}, "
        f"top_k = {profile.sampling.top_k}, repeat_penalty = {profile.sampling.repeat_penalty} }}",
        f"state_cache = {{ dir = {json.dumps(str(state_dir))} }}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_app(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, float, float]:
    """`launch.py` in its own process, as users run it; returns once the model is warm,
    with the seconds to /health 200 and to the model being ready."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "launch.py", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    health = float("nan")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/health", timeout=2)
            if r.status_code == 200 and health != health:
                health = time.perf_counter() - started
            llm = r.json()["components"]["llm"]
            if llm["state"] == "ready":
                return proc, url, health, time.perf_counter() - started
            if llm["state"] == "failed":
                break
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the app did not get its model ready")


def cache_figures(url: str) -> dict[str, Any]:
    llm = httpx.get(url + "/health", timeout=10).json()["components"]["llm"]
    return dict(llm.get("state_cache") or {})


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=120)


# -- raw llama-cpp-python ---------------------------------------------------------------------
def open_raw(path: Path, profile: ModelProfile, threads: int) -> Any:
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=profile.n_ctx,
        n_threads=threads,
        n_batch=profile.n_batch,
        verbose=False,
    )
    llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    return llm


def stream_raw(
    llm: Any, renderer: ChatRenderer, messages: list[ChatMessage], params: dict[str, Any]
) -> dict[str, Any]:
    tokens = renderer.render(messages).tokens
    live = list(llm.input_ids[: llm.n_tokens])
    evaluated = len(tokens) - min(common_prefix(live, tokens), len(tokens) - 1)
    started = time.perf_counter()
    first: float | None = None
    last = 0.0
    n = 0
    for chunk in llm.create_chat_completion(
        messages=[m.wire() for m in messages], stream=True, **params
    ):
        if chunk["choices"][0].get("delta", {}).get("content"):
            last = time.perf_counter() - started
            if first is None:
                first = last
            n += 1
    total = time.perf_counter() - started
    return _timings(first, last, total, n) | {"tokens": n, "evaluated": evaluated}


# -- llama_cpp.server with its prompt cache ---------------------------------------------------
def start_server(
    path: Path, profile: ModelProfile, threads: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server", "--model", str(path),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(profile.n_ctx),
            "--n_threads", str(threads), "--n_batch", str(profile.n_batch),
            "--cache", "true", "--cache_type", "ram", "--cache_size", str(4 << 30),
            "--model_alias", "bench",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("llama_cpp.server did not start")


def stream_server(url: str, messages: list[ChatMessage], params: dict[str, Any]) -> dict[str, Any]:
    body = {"model": "bench", "messages": [m.wire() for m in messages], "stream": True, **params}
    started = time.perf_counter()
    first: float | None = None
    last = 0.0
    n = 0
    with httpx.stream("POST", url + "/chat/completions", json=body, timeout=1800) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                last = time.perf_counter() - started
                if first is None:
                    first = last
                n += 1
    total = time.perf_counter() - started
    return _timings(first, last, total, n) | {"tokens": n}


def match_prompts(phase: list[Turn], sent: list[list[ChatMessage]]) -> list[Turn]:
    """Pair each turn with the prompt the app logged for it (log order); turns the app
    answered without the model (a persona's pause, a failed turn) get none."""
    pending = [t for t in phase if t.app.get("model_called")]
    used: list[Turn] = []
    for messages in sent:
        text = messages[-1].content if messages else ""
        turn = next((t for t in pending if t.text == text), None)
        if turn is None:
            continue
        pending.remove(turn)
        turn.prompt = messages
        used.append(turn)
    return used  # in the order the app sent them


class PromptLog:
    """The app's prompt log, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = 0

    def new(self) -> list[list[ChatMessage]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        fresh, self.seen = lines[self.seen :], len(lines)
        return [[ChatMessage(**m) for m in json.loads(line)] for line in fresh]


class RawSide:
    """Raw llama-cpp-python replaying each prompt right after the app answered it (the app
    is idle meanwhile), so both sides run under the same machine load."""

    def __init__(
        self, open_engine: Callable[[], Any], renderer: ChatRenderer, params: dict[str, Any]
    ):
        self.open_engine = open_engine
        self.renderer = renderer
        self.params = params
        self.llm: Any = None

    def restart(self) -> None:
        self.close()
        self.llm = self.open_engine()

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
            self.llm = None

    def run(self, turns: list[Turn]) -> None:
        queued = 0.0
        for turn in turns:
            assert turn.prompt is not None
            result = stream_raw(self.llm, self.renderer, turn.prompt, self.params)
            if turn.group:  # waiting behind the requests that came first
                result["ttft"] += queued
                queued += result["total"]
            turn.raw = result


def replay(
    phases: list[list[Turn]],
    side: str,
    fresh: Callable[[], Any],
    send: Callable[[Any, list[ChatMessage]], dict[str, Any]],
    close: Callable[[Any], None],
) -> None:
    """Same prompts, same order, a fresh engine per phase; a concurrent group waits in a
    queue on the one model, so each one's TTFT includes the whole turns before it."""
    for turns in phases:
        engine = fresh()
        queued = 0.0
        for turn in turns:
            assert turn.prompt is not None
            result = send(engine, turn.prompt)
            if turn.group:
                result["ttft"] += queued
                queued += result["total"]
            setattr(turn, side, result)
        close(engine)


# -- report -----------------------------------------------------------------------------------
def report(phases: list[list[Turn]], with_server: bool, skipped: int) -> None:
    turns = [t for phase in phases for t in phase]
    if skipped:
        print(f"\n({skipped} turns answered without the model, e.g. a persona's pause, left out)")
    labels = list(dict.fromkeys(t.label for t in turns))

    def med(label: str, side: str, key: str) -> float:
        values = [getattr(t, side)[key] for t in turns if t.label == label and getattr(t, side)]
        return statistics.median(values) if values else float("nan")

    cols = "| IKAR | raw llama-cpp-python | IKAR / raw |" + (
        " llama_cpp.server (cache) |" if with_server else ""
    )
    print("\n## Time to first token, median (s)")
    print("| measure | n " + cols)
    print("|---|---|---|---|---|" + ("---|" if with_server else ""))
    for label in labels:
        n = sum(t.label == label for t in turns)
        a, r = med(label, "app", "ttft"), med(label, "raw", "ttft")
        row = f"| {label} | {n} | {a:.2f} | {r:.2f} | {a / r:.2f} |"
        if with_server:
            row += f" {med(label, 'server', 'ttft'):.2f} |"
        print(row)
    concurrent = [t for t in turns if t.group]
    single = med("first turn of a new conversation", "app", "ttft")
    if concurrent:
        ttfts = sorted(t.app["ttft"] for t in concurrent)
        p50 = statistics.median(ttfts)
        p95 = ttfts[min(len(ttfts) - 1, round(0.95 * (len(ttfts) - 1)))]
        raw_p95 = sorted(t.raw["ttft"] for t in concurrent)[-1]
        print(
            f"\n{len(concurrent)} concurrent new conversations: TTFT p50 {p50:.2f} s, "
            f"p95 {p95:.2f} s; p95 / single-user TTFT = {p95 / single:.1f} "
            f"(raw, queued: worst {raw_p95:.2f} s)"
        )
    print("\n## Prompt tokens evaluated, median (the rest came from a cache)")
    print("| measure | IKAR | raw llama-cpp-python |")
    print("|---|---|---|")
    for label in labels:
        a, r = med(label, "app", "evaluated"), med(label, "raw", "evaluated")
        print(f"| {label} | {a:.0f} | {r:.0f} |")
    # A concurrent group's replies share the model in IKAR (each one's own tokens/s is a
    # share), while the raw side runs them one after another: only the turns sent alone
    # compare per-reply speed; the group compares all its tokens over its wall time.
    alone = [t for t in turns if not t.group] or turns
    print("\n## Generation speed and the rest of a turn, median over the turns sent alone")
    print("| | IKAR | raw | IKAR / raw |")
    print("|---|---|---|---|")
    for key, label in (
        ("tps", "generated tokens/s"),
        ("total", "whole turn (s)"),
        ("tail", "after the last token (s)"),
    ):
        a = statistics.median(t.app[key] for t in alone)
        r = statistics.median(t.raw[key] for t in alone)
        ratio = f"{a / r:.2f}" if r > 0.001 else "-"
        print(f"| {label} | {a:.3f} | {r:.3f} | {ratio} |")
    if concurrent:
        app_tokens = sum(t.app.get("tokens", 0) for t in concurrent)
        app_wall = max(t.app["total"] for t in concurrent)  # sent together, 50 ms apart
        raw_tokens = sum(t.raw.get("tokens", 0) for t in concurrent)
        raw_wall = sum(t.raw["total"] for t in concurrent)  # one after another
        print(
            f"\n{len(concurrent)} concurrent new conversations, all replies: IKAR {app_tokens} "
            f"tokens in {app_wall:.1f} s ({app_tokens / app_wall:.2f} tokens/s together); raw "
            f"one after another {raw_tokens} tokens in {raw_wall:.1f} s "
            f"({raw_tokens / raw_wall:.2f} tokens/s)"
        )
    print("\n## Every turn")
    print("| # | measure | user | IKAR TTFT | raw TTFT | IKAR evaluated | raw evaluated |")
    print("|---|---|---|---|---|---|---|")
    for i, t in enumerate(turns, 1):
        print(
            f"| {i} | {t.label} | {t.user} | {t.app['ttft']:.2f} | {t.raw['ttft']:.2f} | "
            f"{t.app['evaluated']} | {t.raw['evaluated']} |"
        )


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--turns", type=int, default=6, help="turns of the first conversation")
    parser.add_argument("--new", type=int, default=2, help="extra new conversations")
    parser.add_argument("--alternating", type=int, default=4)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-server", action="store_true", help="skip llama_cpp.server")
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".local/share/ikar/models")
    args = parser.parse_args()

    print(
        f"# bench_chat  {time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  "
        f"{platform.processor() or platform.machine()}  cores={os.cpu_count()}  "
        f"model={args.model}  threads={args.threads}  max_tokens={args.max_tokens}  "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    profile = load_profiles(CONFIG_DIR / "models.toml")[args.model]
    path = (
        resolve_packaged(profile.package, args.models_dir)
        if profile.package
        else Path(str(profile.path))
    )
    phases = scenario(args.turns, args.new, args.alternating, args.concurrent)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        profiles_file = data / "models.toml"
        write_profile(profiles_file, profile, args.max_tokens, data / "kv-states")
        prompt_log = data / "prompts.jsonl"
        env = {
            **os.environ,
            "IKAR_DATA_DIR": str(data / "app"),
            "IKAR_MODELS_DIR": str(args.models_dir),
            "IKAR_MODEL_PROFILES_FILE": str(profiles_file),
            "IKAR_DEFAULT_MODEL": args.model,
            "IKAR_LLM_THREADS": str(args.threads),
            "IKAR_DEBUG_PROMPT_LOG": str(prompt_log),
            "IKAR_INNER_LIFE": "false",
            "IKAR_CHAT_RATE_PER_MIN": "1000000",
        }
        import llama_cpp

        vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        renderer = ChatRenderer(vocab, vocab.metadata["tokenizer.chat_template"])
        params = {
            "max_tokens": args.max_tokens,
            "temperature": 0.0,
            "top_p": profile.sampling.top_p,
            "top_k": profile.sampling.top_k,
            "repeat_penalty": profile.sampling.repeat_penalty,
        }
        raw = RawSide(lambda: open_raw(path, profile, args.threads), renderer, params)
        log = PromptLog(prompt_log)
        convs: dict[str, str | None] = {}
        starts = []
        caches = []
        measured: list[list[Turn]] = []
        for phase in phases:
            raw.restart()  # a naive app restarts cold
            order: list[Turn] = []

            def after(group: list[Turn], order: list[Turn] = order) -> None:
                sent = match_prompts(group, log.new())
                order.extend(sent)
                raw.run(sent)

            proc, url, health, ready = start_app(env)
            starts.append((health, ready))
            try:
                run_phase(url, phase, convs, after)
                caches.append(cache_figures(url))
            finally:
                stop(proc)
            measured.append(order)
            print(f"app and raw: {sum(len(p) for p in measured)} turns done", flush=True)
        raw.close()
        called = sum(len(p) for p in measured)
        with_server = not args.no_server
        if with_server:
            try:
                replay(
                    measured,
                    "server",
                    lambda: start_server(path, profile, args.threads),
                    lambda srv, messages: stream_server(srv[1], messages, params),
                    lambda srv: stop(srv[0]),
                )
            except (RuntimeError, httpx.HTTPError) as exc:
                print(f"llama_cpp.server skipped: {exc}")
                with_server = False

        report(measured, with_server, sum(len(p) for p in phases) - called)
        print("\n## The app's KV state caches (from /health)")
        for name, figures in zip(("before the restart", "at the end"), caches, strict=False):
            print(
                f"- {name}: RAM {_mb(figures.get('ram_bytes', 0))}, "
                f"disk {_mb(figures.get('disk_bytes', 0))} in {figures.get('disk_files', 0)} "
                f"files; {figures.get('prefix_states', 0)} persona prefix and "
                f"{figures.get('conversation_states', 0)} conversation states; restores "
                f"{figures.get('restores_ram', 0)} from RAM, {figures.get('restores_disk', 0)} "
                f"from disk; note cuts {figures.get('cuts', 0)}"
            )
        disk = sum(p.stat().st_size for p in (data / "kv-states").rglob("*") if p.is_file())
        print(f"- state files left on disk: {_mb(disk)}")
        print("\n## Cold start (python launch.py)")
        for name, (health, ready) in zip(("first start", "restart"), starts, strict=False):
            print(
                f"- {name}: /health 200 after {health:.1f} s; model loaded and warm {ready:.1f} s"
            )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
