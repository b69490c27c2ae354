"""Chat speed: the app's streaming POST /api/chat against raw llama-cpp-python, side by side.

    python -m bench.bench_chat [--model qwen2.5-coder-1.5b] [--turns 20] [--max-tokens 64]

1. The app answers a turn through HTTP (SSE); the exact messages it sent to the model are
   captured, then raw llama-cpp-python (same GGUF, n_ctx, threads, sampling, seed) streams
   the same messages. Reported: time to first token and generated tokens/s, and the ratio.
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

from config.settings import Settings
from models.types import ChatMessage, SamplingParams
from tests.conftest import LiveServer, free_port

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
                    if first is None:
                        first = time.perf_counter() - started
                    tokens += 1
                elif event == "done":
                    done = json.loads(line[6:])
                elif event == "error":
                    raise RuntimeError(line)
    total = time.perf_counter() - started
    usage = done.get("usage") or {}
    return {
        "ttft": first or total,
        "total": total,
        "tokens": usage.get("completion_tokens", tokens),
        "conversation_id": done.get("conversation_id"),
        "tps": tokens / (total - (first or 0)) if total > (first or 0) else 0.0,
    }


def stream_raw(llm: Any, messages: list[ChatMessage], params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    for chunk in llm.create_chat_completion(
        messages=[m.model_dump() for m in messages], stream=True, **params
    ):
        if chunk["choices"][0].get("delta", {}).get("content"):
            if first is None:
                first = time.perf_counter() - started
            tokens += 1
    total = time.perf_counter() - started
    return {
        "ttft": first or total,
        "total": total,
        "tokens": tokens,
        "tps": tokens / (total - (first or 0)) if total > (first or 0) else 0.0,
    }


def cold_start(model: str, data_dir: Path) -> tuple[float, float]:
    port = free_port()
    env = {
        **os.environ,
        "IKAR_DATA_DIR": str(data_dir),
        "IKAR_DEFAULT_MODEL": model,
        "IKAR_INNER_LIFE": "false",
    }
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    print(
        f"# bench_chat  {time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  "
        f"{platform.processor() or platform.machine()}  cores={os.cpu_count()}  "
        f"model={args.model}  threads={args.threads}  max_tokens={args.max_tokens}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = Settings(
            _env_file=None,
            data_dir=data,
            default_model=args.model,  # type: ignore[call-arg]
            llm_threads=args.threads,
            inner_life=False,
            chat_rate_per_min=1e6,
            models_dir=Path.home() / ".local/share/ikar/models",
        )
        profile_max = None
        with LiveServer(settings) as server:
            services = server.services
            backend = services.models.backend()
            backend.load()
            profile_max = backend.max_tokens
            # pin sampling so both sides generate the same number of tokens
            backend.profile = backend.profile.model_copy(update={"max_tokens": args.max_tokens})  # type: ignore[attr-defined]
            sent: list[list[ChatMessage]] = []
            original = backend.stream

            def capture(
                messages: list[ChatMessage],
                params: SamplingParams | None = None,
                cancel: Any = None,
            ) -> Any:
                sent.append(messages)
                return original(messages, SamplingParams(seed=1, temperature=0.0), cancel)

            backend.stream = capture  # type: ignore[method-assign]
            app_runs = []
            conv: str | None = None
            for i in range(args.turns):
                run = stream_app(server.url, QUESTIONS[i % len(QUESTIONS)], conv)
                conv = run["conversation_id"]
                app_runs.append(run)
            services.models.unload_all()
        path = backend._resolve_path()  # type: ignore[attr-defined]

        import llama_cpp

        llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=backend.n_ctx,
            n_threads=args.threads,
            n_batch=512,
            verbose=False,
        )
        llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        params = {
            "max_tokens": args.max_tokens,
            "temperature": 0.0,
            "seed": 1,
            "top_p": backend.profile.sampling.top_p,
            "top_k": backend.profile.sampling.top_k,  # type: ignore[attr-defined]
            "repeat_penalty": backend.profile.sampling.repeat_penalty,
        }  # type: ignore[attr-defined]
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
        ):
            a, r = med(app_runs, key), med(raw_runs, key)
            print(f"| {label} | {a:.3f} | {r:.3f} | {a / r:.2f} |")
        print("\n## Time to first token by turn (KV cache reuse as history grows)")
        print("| turn | app TTFT s | raw TTFT s | prompt messages |")
        print("|---|---|---|---|")
        for i in sorted({0, 1, 4, 9, args.turns - 1}):
            if i < len(app_runs):
                print(
                    f"| {i + 1} | {app_runs[i]['ttft']:.3f} | {raw_runs[i]['ttft']:.3f} | "
                    f"{len(sent[i])} |"
                )
        health, ready = cold_start(args.model, data / "cold")
        print("\n## Cold start (python launch.py)")
        print(f"- to /health 200: {health:.1f} s; to the model loaded and warm: {ready:.1f} s")
        del profile_max


if __name__ == "__main__":
    main()
