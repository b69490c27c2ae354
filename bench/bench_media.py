"""Media benchmarks: our path (MediaService: queue + cache + engine) beside the raw library.

Run from the repository root: PYTHONPATH=. .venv/bin/python bench/bench_media.py [--russian]
Prints TTS real-time factor and time to first audio, STT real-time factor, OCR seconds per
image (cold, warm, cached), tiny-diffusion seconds per step (CPU), and 10 concurrent requests
through each queue (total time, p50/p95 wait); then Russian: festival's real-time factor and
time to first audio beside raw `text2wave` (one process per sentence, as festival is usually
driven), and tesseract rus+eng seconds per image beside a raw `pytesseract` call.
`--russian` runs only the Russian part. Each "ratio" is ours / raw on the same input in the
same run. Numbers on a busy 2-core machine are noisy: run twice before believing one.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from app.storage.database import Database
from media.audio import wav_info
from media.config import ImageConfig, MediaConfig, OCRConfig, QueueLimits, QueuesConfig
from media.images.base import ImageParams
from media.images.tiny_pipeline import save_tiny_pipeline
from media.service import MediaService
from media.torch_compat import cap_torch_threads, ensure_torchvision

SENTENCES = (
    "The weather was calm this morning. We walked along the river and talked about books. "
    "Later, the rain started and we hurried home."
)
RU_SENTENCES = [
    "Встреча на вокзале в семь.",
    "Сегодня хорошая погода, пойдём гулять в парк.",
    "Я люблю читать книги по вечерам.",
    "Мама купила молоко и свежий хлеб.",
    "Завтра мы поедем к бабушке в деревню.",
]
RU_VOICE = "msu_ru_nsh_clunits"
CYRILLIC_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


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

    # ---- OCR (easyocr, English; tesseract is measured in the Russian part) -------------
    import numpy as np
    from PIL import Image

    easy = MediaService(
        config.model_copy(update={"ocr": OCRConfig(engine="easyocr")}), db, tmp / "cache-easy"
    )
    t = time.perf_counter()
    await easy.ocr(png_with_text("Cold start 1"))
    row("OCR easyocr cold (reader load + read)", time.perf_counter() - t)
    warm = png_with_text("Warm image 22")
    t = time.perf_counter()
    await easy.ocr(warm)
    ours = time.perf_counter() - t
    with easy.ocr_engine._lazy.use() as reader:  # type: ignore[attr-defined]
        bgr = np.asarray(Image.open(io.BytesIO(warm)).convert("RGB"))[:, :, ::-1].copy()
        t = time.perf_counter()
        reader.readtext(bgr)
        raw = time.perf_counter() - t
    row("OCR easyocr warm, per image (640x160)", ours, raw)
    t = time.perf_counter()
    await easy.ocr(warm)
    row("OCR cached repeat", time.perf_counter() - t)
    easy.close()

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
    await bench_russian(svc)
    svc.close()
    db.close()


def text2wave(sentence: str, out: Path) -> float:
    """Raw festival as usually driven: one `text2wave` process per sentence; audio seconds."""
    subprocess.run(
        ["text2wave", "-eval", f"(voice_{RU_VOICE})", "-o", str(out)],
        input=sentence.encode(),
        check=True,
        capture_output=True,
    )
    return wav_info(out.read_bytes())[3]


def ru_png() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(CYRILLIC_FONT, 36)
    img = Image.new("RGB", (760, 170), "white")
    draw = ImageDraw.Draw(img)
    draw.text((24, 24), "Встреча на вокзале в семь", fill="black", font=font)
    draw.text((24, 96), "Meeting at the station at seven", fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def bench_russian(svc: MediaService) -> None:
    """festival and tesseract through the app beside the raw engines, same inputs."""
    print("Russian:")
    with tempfile.TemporaryDirectory(prefix="ikar-bench-ru-") as scratch:
        out = Path(scratch) / "raw.wav"
        # ---- TTS: festival -------------------------------------------------------------
        t = time.perf_counter()
        await svc.tts("Разминка.")
        row("RU TTS cold (festival start + voice + 1 sentence)", time.perf_counter() - t)
        text2wave("Разминка.", out)

        text = " ".join(RU_SENTENCES)
        t = time.perf_counter()
        art = await svc.tts(text)
        ours = time.perf_counter() - t
        seconds = wav_info(art.data)[3]
        t = time.perf_counter()
        raw_seconds = sum(text2wave(s, out) for s in RU_SENTENCES)
        raw = time.perf_counter() - t
        print(f"RU TTS audio length {seconds:.2f} s (raw {raw_seconds:.2f} s)")
        row("RU TTS real-time factor (5 sentences)", ours / seconds, raw / raw_seconds, "x")
        per_sentence = raw / len(RU_SENTENCES)
        row("RU TTS seconds per sentence", ours / len(RU_SENTENCES), per_sentence)

        t = time.perf_counter()
        stream = svc.tts_stream(text + " Ещё раз.")
        await stream.__anext__()
        ours_first = time.perf_counter() - t
        async for _ in stream:
            pass
        t = time.perf_counter()
        text2wave(RU_SENTENCES[0] + " ", out)
        row("RU TTS time to first audio (stream)", ours_first, time.perf_counter() - t)
        t = time.perf_counter()
        await svc.tts(text)
        row("RU TTS cached repeat", time.perf_counter() - t)

    # ---- OCR: tesseract rus+eng ---------------------------------------------------------
    import pytesseract
    from PIL import Image

    png = ru_png()
    t = time.perf_counter()
    first = await svc.ocr(png)
    row("RU OCR cold (probe + read), 760x170", time.perf_counter() - t)
    times_ours, times_raw, times_raw1 = [], [], []
    image = Image.open(io.BytesIO(png))
    for _ in range(5):
        await asyncio.to_thread(svc.cache.clear)  # a miss every time: the engine runs
        t = time.perf_counter()
        await svc.ocr(png)
        times_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        raw_text = pytesseract.image_to_string(image, lang="rus+eng")
        times_raw.append(time.perf_counter() - t)
        # the same call with tesseract's OpenMP held to one thread, as the app runs it
        os.environ["OMP_THREAD_LIMIT"] = "1"
        t = time.perf_counter()
        pytesseract.image_to_string(image, lang="rus+eng")
        times_raw1.append(time.perf_counter() - t)
        del os.environ["OMP_THREAD_LIMIT"]
    print(f"   ours: {first.text!r}\n   raw:  {raw_text.strip()!r}")
    row("RU OCR warm, per image (median of 5)", sorted(times_ours)[2], sorted(times_raw)[2])
    row("   raw with OMP_THREAD_LIMIT=1", sorted(times_ours)[2], sorted(times_raw1)[2])
    t = time.perf_counter()
    await svc.ocr(png)
    row("RU OCR cached repeat", time.perf_counter() - t)


async def bench_russian_only(tmp: Path) -> None:
    config = MediaConfig(models_dir=tmp / "models")
    db = Database(tmp / "bench.db")
    svc = MediaService(config, db, tmp / "cache")
    await bench_russian(svc)
    svc.close()
    db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--russian", action="store_true", help="only the Russian part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ikar-bench-media-") as tmp:
        asyncio.run((bench_russian_only if args.russian else bench)(Path(tmp)))
