"""GPU smoke check (prepared for a CUDA box; prints figures, asserts nothing about speed).

    PYTHONPATH=. python bench/gpu_smoke.py [path/to/model.gguf]   (from the repository root)

1. Saves the tiny random diffusion pipeline, loads it through `DiffusersEngine` (device
   auto: CUDA + fp16 when available, exactly the users' path) and times 512x512 x 20 steps.
2. If llama_cpp is importable and built with CUDA, loads the GGUF given as argv[1] with
   n_gpu_layers=-1 and prints streamed tokens/s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from media.config import ImageConfig
from media.images.base import ImageParams
from media.images.diffusers_engine import DiffusersEngine
from media.images.tiny_pipeline import save_tiny_pipeline
from media.torch_compat import ensure_torchvision


def diffusion() -> None:
    print("torchvision:", ensure_torchvision().detail)
    import torch

    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_tiny_pipeline(Path(tmp) / "tiny")
        engine = DiffusersEngine(
            ImageConfig(model=str(folder), device="auto", max_width=1024, max_height=1024)
        )
        t = time.perf_counter()
        engine.generate(ImageParams(prompt="warm up", width=64, height=64, steps=1, seed=0))
        print(f"load + warm-up: {time.perf_counter() - t:.2f} s on {engine.status().detail}")
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.synchronize()
        # 512x512 x 20 is the GPU figure; on a CPU it takes minutes, so a small run instead.
        size, steps = (512, 20) if torch.cuda.is_available() else (128, 2)
        t = time.perf_counter()
        png = engine.generate(
            ImageParams(prompt="a lighthouse", width=size, height=size, steps=steps, seed=1)
        )
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        took = time.perf_counter() - t
        print(
            f"{size}x{size} x {steps} steps: {took:.3f} s ({took / steps * 1000:.1f} ms/step), "
            f"PNG {len(png)} bytes"
        )
        if torch.cuda.is_available():
            print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


def llama(gguf: str) -> None:
    try:
        import llama_cpp
    except ImportError:
        print("llama_cpp not importable: skipped")
        return
    supports = getattr(llama_cpp, "llama_supports_gpu_offload", lambda: False)()
    print(f"llama_cpp {llama_cpp.__version__}, GPU offload supported: {supports}")
    if not supports:
        return
    llm = llama_cpp.Llama(model_path=gguf, n_gpu_layers=-1, n_ctx=2048, verbose=False)
    llm("Hello", max_tokens=8)  # warm-up
    t = time.perf_counter()
    first = None
    n = 0
    for _ in llm("Write a short story about a lighthouse keeper.", max_tokens=256, stream=True):
        n += 1
        if first is None:
            first = time.perf_counter() - t
    took = time.perf_counter() - t
    print(f"{n} tokens in {took:.2f} s: {n / took:.1f} tok/s, first token after {first or 0:.3f} s")


if __name__ == "__main__":
    diffusion()
    if len(sys.argv) > 1:
        llama(sys.argv[1])
    else:
        print("no GGUF path given: llama.cpp check skipped")
