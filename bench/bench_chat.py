"""Chat speed: the app's streaming POST /api/chat against raw llama-cpp-python, side by side.

    python -m bench.bench_chat [--model qwen2.5-coder-1.5b] [--turns 20] [--max-tokens 64]

1. The app runs as users run it (`launch.py`, its own process) and answers a conversation
   through HTTP (SSE); it logs the exact messages it sent to the model
   (IKAR_DEBUG_PROMPT_LOG). Then raw llama-cpp-python (same GGUF, n_ctx, threads, greedy
   sampling) streams the same messages in the same order. Reported: time to first token,
   generated tokens/s, whole turn, and the ratios.
2. Time to first token at turn 1 and turn N of one conversation (does KV reuse hold?).
3. Cold start: seconds from `python launch.py` to /health 200, and to the model being ready.
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
import time
from pathlib import Path
from typing import Any

import httpx

from config.settings import CONFIG_DIR
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


def stream_app(url: str, message: str, conversation_id: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    first: float | None = None
    last = 0.0
    tokens = 0
    done: dict[str, Any] = {}
    body = {"message": message, "conversation_id": conversation_id, "stream": True}
    with httpx.stream("POST", url + "/api/chat", json=body, timeout=600) as r:
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
        "conversation_id": done.get("conversation_id"),
    }


def _timings(first: float | None, last: float, total: float, tokens: int) -> dict[str, Any]:
    """Tokens/s between the first and the last token, the same on both sides; the time after
    the last token (the app stores and remembers the reply) is reported as the tail."""
    span = last - (first or 0.0)
    return {
        "ttft": first or total,
        "total": total,
        "tail": total - last,
        "tps": (tokens - 1) / span if span > 0 else 0.0,
    }


def stream_raw(llm: Any, messages: list[ChatMessage], params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    first: float | None = None
    last = 0.0
    tokens = 0
    for chunk in llm.create_chat_completion(
        messages=[m.wire() for m in messages], stream=True, **params
    ):
        if chunk["choices"][0].get("delta", {}).get("content"):
            last = time.perf_counter() - started
            if first is None:
                first = last
            tokens += 1
    total = time.perf_counter() - started
    return _timings(first, last, total, tokens) | {"tokens": tokens}


def cold_start(model: str, data_dir: Path, base_env: dict[str, str]) -> tuple[float, float]:
    port = free_port()
    env = {**base_env, "IKAR_DATA_DIR": str(data_dir), "IKAR_DEFAULT_MODEL": model}
    env.pop("IKAR_DEBUG_PROMPT_LOG", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "launch.py", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    health = ready = None
    try:
        while time.perf_counter() - started < 600:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if r.status_code == 200:
                    health = health or time.perf_counter() - started
                    if r.json()["components"]["llm"]["state"] == "ready":
                        ready = time.perf_counter() - started
                        break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return health or float("nan"), ready or float("nan")


def write_profile(path: Path, profile: ModelProfile, max_tokens: int) -> None:
    """The benchmarked profile with greedy sampling, so both sides generate the same tokens."""
    lines = [f'[models."{profile.name}"]', f'source = "{profile.source}"']
    for key in ("package", "path", "url", "api_model"):
        value = getattr(profile, key)
        if value is not None:
            lines.append(f'{key} = "{value}"')
    lines += [
        f"n_ctx = {profile.n_ctx}",
        f"max_tokens = {max_tokens}",
        f"timeout_s = {profile.timeout_s}",
        f"gpu_layers = {profile.gpu_layers}",
        f"sampling = {{ temperature = 0.0, top_p = {profile.sampling.top_p}, "
        f"top_k = {profile.sampling.top_k}, repeat_penalty = {profile.sampling.repeat_penalty} }}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`launch.py` in its own process, as users run it; returns once the model is warm."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "launch.py", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            llm = httpx.get(url + "/health", timeout=2).json()["components"]["llm"]
            if llm["state"] == "ready":
                return proc, url
            if llm["state"] == "failed":
                break
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the app did not get its model ready")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".local/share/ikar/models")
    args = parser.parse_args()

    print(
        f"# bench_chat  {time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  "
        f"{platform.processor() or platform.machine()}  cores={os.cpu_count()}  "
        f"model={args.model}  threads={args.threads}  max_tokens={args.max_tokens}"
    )
    profile = load_profiles(CONFIG_DIR / "models.toml")[args.model]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        profiles_file = data / "models.toml"
        write_profile(profiles_file, profile, args.max_tokens)
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
        proc, url = start_server(env)
        try:
            app_runs = []
            conv: str | None = None
            for i in range(args.turns):
                run = stream_app(url, QUESTIONS[i % len(QUESTIONS)], conv)
                conv = run["conversation_id"]
                app_runs.append(run)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        sent = [
            [ChatMessage(**m) for m in json.loads(line)]
            for line in prompt_log.read_text(encoding="utf-8").splitlines()
        ]
        assert len(sent) == args.turns, "every turn's prompt was logged"

        import llama_cpp

        path = (
            resolve_packaged(profile.package, args.models_dir)
            if profile.package
            else Path(str(profile.path))
        )
        llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=profile.n_ctx,
            n_threads=args.threads,
            n_batch=profile.n_batch,
            verbose=False,
        )
        llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        params = {
            "max_tokens": args.max_tokens,
            "temperature": 0.0,
            "top_p": profile.sampling.top_p,
            "top_k": profile.sampling.top_k,
            "repeat_penalty": profile.sampling.repeat_penalty,
        }
        raw_runs = [stream_raw(llm, messages, params) for messages in sent]
        llm.close()

        def med(runs: list[dict[str, Any]], key: str) -> float:
            return statistics.median(r[key] for r in runs)

        print("\n## Same conversation, app (HTTP SSE) vs raw llama-cpp-python, same prompts")
        print("| | app | raw | app/raw |")
        print("|---|---|---|---|")
        for key, label in (
            ("ttft", "time to first token, median (s)"),
            ("tps", "generated tokens/s, median"),
            ("total", "whole turn, median (s)"),
            ("tail", "after the last token, median (s)"),
        ):
            a, r = med(app_runs, key), med(raw_runs, key)
            ratio = f"{a / r:.2f}" if r > 0.001 else "-"
            print(f"| {label} | {a:.3f} | {r:.3f} | {ratio} |")
        print("\n## Time to first token by turn (KV cache reuse as history grows)")
        print("| turn | app TTFT s | raw TTFT s | prompt messages |")
        print("|---|---|---|---|")
        for i in sorted({0, 1, 4, 9, args.turns - 1}):
            if i < len(app_runs):
                print(
                    f"| {i + 1} | {app_runs[i]['ttft']:.3f} | {raw_runs[i]['ttft']:.3f} | "
                    f"{len(sent[i])} |"
                )
        health, ready = cold_start(args.model, data / "cold", env)
        print("\n## Cold start (python launch.py)")
        print(f"- to /health 200: {health:.1f} s; to the model loaded and warm: {ready:.1f} s")


if __name__ == "__main__":
    main()
