"""Media benchmarks: our path (MediaService: queue + cache + engine) beside the raw library.

Run from the repository root: PYTHONPATH=. .venv/bin/python bench/bench_media.py
Prints TTS real-time factor and time to first audio, STT real-time factor, OCR seconds per
image (cold, warm, cached), tiny-diffusion seconds per step (CPU), and 10 concurrent requests
through each queue (total time, p50/p95 wait). Each "ratio" is ours / raw on the same input
in the same run. Numbers on a busy 2-core machine are noisy: run twice before believing one.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from app.storage.database import Database
from media.audio import wav_info
from media.config import ImageConfig, MediaConfig, QueueLimits, QueuesConfig
from media.images.base import ImageParams
from media.images.tiny_pipeline import save_tiny_pipeline
from media.service import MediaService
from media.torch_compat import cap_torch_threads, ensure_torchvision

SENTENCES = (
    "The weather was calm this morning. We walked along the river and talked about books. "
    "Later, the rain started and we hurried home."
)


def row(name: str, ours: float, raw: float | None = None, unit: str = "s") -> None:
    ratio = f"   ratio {ours / raw:5.2f}" if raw else ""
    raw_s = f"   raw {raw:8.4f} {unit}" if raw is not None else ""
    print(f"{name:44s} ours {ours:8.4f} {unit}{raw_s}{ratio}")


def png_with_text(text: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 160), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=40)
    draw.text((20, 20), text, fill="black", font=font)
    draw.text((20, 90), "Second line here", fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def bench(tmp: Path) -> None:
    ensure_torchvision()
    cap_torch_threads(1)
    model_dir = save_tiny_pipeline(tmp / "tiny")
    limits = QueueLimits(max_queued=16, concurrency=1, timeout_s=600)
    config = MediaConfig(
        models_dir=tmp / "models",
        queues=QueuesConfig(tts=limits, stt=limits, ocr=limits, image=limits),
        image=ImageConfig(model=str(model_dir), device="cpu"),
    )
    db = Database(tmp / "bench.db")
    svc = MediaService(config, db, tmp / "cache")

    # ---- TTS ---------------------------------------------------------------------------
    from piper import PiperVoice

    from media.tts.piper_engine import bundled_voice_paths

    await svc.tts("Warm up.")
    paths = bundled_voice_paths()
    assert paths is not None
    raw_voice = PiperVoice.load(paths[0], config_path=paths[1])
    list(raw_voice.synthesize("Warm up."))

    t = time.perf_counter()
    art = await svc.tts(SENTENCES)
    ours = time.perf_counter() - t
    seconds = wav_info(art.data)[3]
    t = time.perf_counter()
    raw_pcm = b"".join(c.audio_int16_bytes for c in raw_voice.synthesize(SENTENCES + " "))
    raw = time.perf_counter() - t
    print(f"TTS audio length {seconds:.2f} s")
    row("TTS real-time factor (miss)", ours / seconds, raw / (len(raw_pcm) / 2 / 22050), "x")
    t = time.perf_counter()
    await svc.tts(SENTENCES)
    row("TTS cached repeat", time.perf_counter() - t)

    t = time.perf_counter()
    stream = svc.tts_stream(SENTENCES + " Again.")
    await stream.__anext__()
    ours_first = time.perf_counter() - t
    async for _ in stream:
        pass
    t = time.perf_counter()
    next(iter(raw_voice.synthesize(SENTENCES + " Again!")))
    row("TTS time to first audio (stream)", ours_first, time.perf_counter() - t)

    # ---- STT ---------------------------------------------------------------------------
    from faster_whisper import WhisperModel

    audio = art.data
    await svc.stt(audio[: len(audio) // 2], "en")  # loads the model
    t = time.perf_counter()
    transcript = await svc.stt(audio, "en")
    ours = time.perf_counter() - t
    raw_model = WhisperModel(
        str(svc.stt_engine.prepare()),
        device="cpu",
        compute_type="int8",
        cpu_threads=1,  # type: ignore[attr-defined]
    )
    samples = svc.stt_engine.decode(audio)  # type: ignore[attr-defined]
    t = time.perf_counter()
    segs, _ = raw_model.transcribe(samples, language="en", beam_size=1)
    raw_text = " ".join(s.text for s in segs)
    raw = time.perf_counter() - t
    row("STT real-time factor", ours / seconds, raw / seconds, "x")
    print(f"   ours: {transcript.text!r}\n   raw:  {raw_text.strip()!r}")
    t = time.perf_counter()
    await svc.stt(audio, "en")
    row("STT cached repeat", time.perf_counter() - t)

    # ---- OCR ---------------------------------------------------------------------------
    import numpy as np
    from PIL import Image

    t = time.perf_counter()
    await svc.ocr(png_with_text("Cold start 1"))
    row("OCR cold (reader load + read)", time.perf_counter() - t)
    warm = png_with_text("Warm image 22")
    t = time.perf_counter()
    await svc.ocr(warm)
    ours = time.perf_counter() - t
    with svc.ocr_engine._lazy.use() as reader:  # type: ignore[attr-defined]
        bgr = np.asarray(Image.open(io.BytesIO(warm)).convert("RGB"))[:, :, ::-1].copy()
        t = time.perf_counter()
        reader.readtext(bgr)
        raw = time.perf_counter() - t
    row("OCR warm, per image (640x160, 2 lines)", ours, raw)
    t = time.perf_counter()
    await svc.ocr(warm)
    row("OCR cached repeat", time.perf_counter() - t)

    # ---- Images ------------------------------------------------------------------------
    await svc.generate_image(ImageParams(prompt="warm up", width=64, height=64, steps=1, seed=0))
    pipe = svc.image_engine._lazy.load()  # type: ignore[attr-defined]
    import torch

    for size, steps in ((64, 10), (256, 10)):
        params = ImageParams(prompt="a red boat", width=size, height=size, steps=steps, seed=1)
        t = time.perf_counter()
        await svc.generate_image(params)
        ours = (time.perf_counter() - t) / steps
        t = time.perf_counter()
        with torch.inference_mode():
            pipe(
                "a red boat",
                width=size,
                height=size,
                num_inference_steps=steps,
                generator=torch.Generator("cpu").manual_seed(1),
            )
        raw = (time.perf_counter() - t) / steps
        row(f"Image tiny {size}x{size}, seconds per step", ours, raw)

    # ---- 10 concurrent requests per queue ----------------------------------------------
    print("10 concurrent requests per queue (distinct inputs, cache misses):")
    svc.queues = type(svc.queues)(config.queues)  # fresh wait statistics
    jobs = {
        "tts": [svc.tts(f"Request number {i} is here.") for i in range(10)],
        "stt": [svc.stt(audio[: len(audio) - 2 * 2000 * (i + 1)], "en") for i in range(10)],
        "ocr": [svc.ocr(png_with_text(f"Concurrent {i}")) for i in range(10)],
        "image": [
            svc.generate_image(ImageParams(prompt=f"p{i}", width=64, height=64, steps=4, seed=i))
            for i in range(10)
        ],
    }
    for kind, coros in jobs.items():
        t = time.perf_counter()
        await asyncio.gather(*coros)
        total = time.perf_counter() - t
        stats = svc.queues.stats()[kind]  # type: ignore[index]
        print(
            f"   {kind:5s} total {total:7.3f} s   wait p50 {stats.wait_p50_s:.3f} s"
            f"   p95 {stats.wait_p95_s:.3f} s   completed {stats.completed}"
        )
    print("cache:", (await svc.status()).cache.model_dump(exclude={"directory"}))
    svc.close()
    db.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="ikar-bench-media-") as tmp:
        asyncio.run(bench(Path(tmp)))
