"""Prompt evaluation speed of raw llama-cpp-python for a chat turn's new tokens, per setting.

    python -m bench.bench_eval_speed [--new 150] [--context 400]

A later chat turn evaluates ~100-200 new tokens on top of a cached context; on 2 cores that
is the whole time to first token. Each setting runs in its own process (OpenMP reads its
environment once): load the GGUF, evaluate a `--context`-token prefix, then time evaluating
`--new` tokens after it (KV cut back between repeats), median of `--repeats`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SETTINGS: dict[str, dict[str, object]] = {
    "default (n_batch 512)": {},
    "flash_attn": {"flash_attn": True},
    "n_batch 64": {"n_batch": 64, "n_ubatch": 64},
    "OMP_WAIT_POLICY=PASSIVE": {"env": {"OMP_WAIT_POLICY": "PASSIVE"}},
}


def child(path: str, kwargs: dict[str, object], context: int, new: int, repeats: int) -> None:
    import llama_cpp

    from models import kv_state

    llm = llama_cpp.Llama(model_path=path, n_ctx=2048, verbose=False, **kwargs)  # type: ignore[arg-type]
    text = "The quick brown fox jumps over the lazy dog and keeps running. " * 200
    tokens = llm.tokenize(text.encode(), add_bos=False)
    llm.eval(tokens[:context])
    times = []
    for _ in range(repeats):
        kv_state.truncate(llm, context)
        started = time.perf_counter()
        llm.eval(tokens[context : context + new])
        times.append(time.perf_counter() - started)
    print(json.dumps({"s": statistics.median(times)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--context", type=int, default=400)
    parser.add_argument("--new", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".local/share/ikar/models")
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child is not None:
        path, kwargs = json.loads(args.child)
        child(path, kwargs, args.context, args.new, args.repeats)
        return
    from config.settings import CONFIG_DIR
    from models.packaged import resolve_packaged
    from models.profiles import load_profiles

    profile = load_profiles(CONFIG_DIR / "models.toml")[args.model]
    path = str(resolve_packaged(str(profile.package), args.models_dir))
    print(
        f"# bench_eval_speed {time.strftime('%Y-%m-%d %H:%M')} model={args.model} "
        f"threads={args.threads} context={args.context} new={args.new} "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("| setting | seconds for the new tokens | prompt tokens/s |")
    print("|---|---|---|")
    for name, setting in SETTINGS.items():
        setting = dict(setting)
        env = {**os.environ, **setting.pop("env", {})}  # type: ignore[dict-item]
        kwargs = {"n_threads": args.threads, **setting}
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_eval_speed", "--context", str(args.context),
             "--new", str(args.new), "--repeats", str(args.repeats),
             "--child", json.dumps([path, kwargs])],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        try:
            s = json.loads(out.stdout.strip().splitlines()[-1])["s"]
            print(f"| {name} | {s:.2f} | {args.new / s:.0f} |", flush=True)
        except (IndexError, ValueError, KeyError):
            print(f"| {name} | failed: {out.stderr.strip()[-200:]} | |", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
