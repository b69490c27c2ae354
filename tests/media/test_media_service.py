"""`MediaService`: the facade goes through the queues and the cache and reports health."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.storage.database import Database
from media.audio import wav_info
from media.config import MediaConfig
from media.errors import MediaInputError
from media.images.base import ImageParams
from media.service import MediaService

pytestmark = pytest.mark.slow


@pytest.fixture
def service(  # type: ignore[no-untyped-def]
    media_config: MediaConfig,
    db: Database,
    tmp_path: Path,
    tts_engine,
    whisper_engine,
    ocr_engine,
    image_engine,
):
    svc = MediaService(
        media_config,
        db,
        tmp_path / "media-cache",
        tts=tts_engine,
        stt=whisper_engine,
        ocr=ocr_engine,
        images=image_engine,
    )
    yield svc
    svc.queues.shutdown()


def test_tts_is_cached_on_repeat(service: MediaService) -> None:
    async def main() -> None:
        first = await service.tts("Cache me if you can.")
        second = await service.tts("Cache me if you can.")
        assert not first.cached and second.cached
        assert first.data == second.data and first.media_type == "audio/wav"
        assert first.key and service.artifact_path(first.key) == first.path
        assert first.path is not None and first.path.is_relative_to(service.cache.root)

    asyncio.run(main())
    stats = service.cache.stats()
    assert stats.hits == 1 and stats.items == 1
    assert service.queues.stats()["tts"].completed == 1  # the hit never queued


def test_tts_stream_yields_sentences_then_caches(service: MediaService) -> None:
    async def main() -> tuple[list[int], bool]:
        chunks = [c async for c in service.tts_stream("One sentence. Two sentences.")]
        again = [c async for c in service.tts_stream("One sentence. Two sentences.")]
        return [c.index for c in chunks], len(again) == 1 and again[0].pcm == b"".join(
            c.pcm for c in chunks
        )

    indexes, cached_whole = asyncio.run(main())
    assert indexes == [0, 1] and cached_whole


def test_stt_and_ocr_through_the_service(  # type: ignore[no-untyped-def]
    service: MediaService, fox_wav: bytes, two_line_png: bytes
) -> None:
    async def main() -> None:
        transcript = await service.stt(fox_wav, "en")
        assert "fox" in transcript.text.lower()
        ocr = await service.ocr(two_line_png)
        assert ocr.text == "Hello world 2024\nQuick brown fox"
        assert (await service.ocr(two_line_png)) == ocr  # from the cache
        with pytest.raises(MediaInputError):
            await service.ocr(b"not an image")

    asyncio.run(main())
    assert service.cache.stats().hits == 1


def test_generate_image_reports_progress_and_caches_fixed_seeds(service: MediaService) -> None:
    progress: list[float] = []

    async def main() -> None:
        params = ImageParams(prompt="a small boat", width=64, height=64, steps=2, seed=3)
        art = await service.generate_image(params, progress=lambda f, d: progress.append(f))
        assert art.media_type == "image/png" and art.meta["seed"] == 3 and not art.cached
        again = await service.generate_image(params)
        assert again.cached and again.data == art.data
        random_seed = await service.generate_image(ImageParams(prompt="a small boat", steps=1))
        assert random_seed.meta["seed"] is not None

    asyncio.run(main())
    assert progress == [0.0, 0.5, 1.0]


def test_status_shows_engines_queues_and_cache(service: MediaService) -> None:
    status = asyncio.run(service.status())
    assert set(status.engines) == {"tts", "stt", "ocr", "image"}
    assert set(status.tts_engines) == {"piper", "festival"}
    assert status.engines["tts"].engine == "piper+festival"
    assert set(status.queues) == {"tts", "stt", "ocr", "image"}
    assert status.queues["image"].concurrency == 1
    assert status.cache.directory == str(service.cache.root)
    assert all(
        s.state in {"unloaded", "loading", "ready", "failed"} for s in status.engines.values()
    )


def test_voices_lists_piper_and_festival_voices(service: MediaService) -> None:
    voices = {v.id: v for v in asyncio.run(service.voices())}
    assert voices["en_US-joe-medium"].engine == "piper"
    russian = voices["festival-msu_ru_nsh_clunits"]
    assert (russian.engine, russian.language, russian.sample_rate) == ("festival", "ru", 16000)
    assert [v.id for v in asyncio.run(service.voices("ru-RU"))] == [russian.id]
    assert "en_US-joe-medium" in [v.id for v in asyncio.run(service.voices("en"))]


def test_tts_meta_names_the_voice_the_language_chose(service: MediaService) -> None:
    async def main() -> None:
        ru = await service.tts("Доброе утро, как спалось?")
        en = await service.tts("Good morning, how did you sleep?")
        named = await service.tts("Доброе утро!", "en_US-joe-medium")
        digits = await service.tts("2024", language="ru")
        assert (ru.meta["voice"], ru.meta["language"]) == ("festival-msu_ru_nsh_clunits", "ru")
        assert (en.meta["voice"], en.meta["language"]) == ("en_US-joe-medium", "en")
        assert named.meta["voice"] == "en_US-joe-medium"
        assert digits.meta["voice"] == "festival-msu_ru_nsh_clunits"
        assert wav_info(ru.data)[0] == 16000 and wav_info(en.data)[0] == 22050
        again = await service.tts("Доброе утро, как спалось?")
        assert again.cached and again.meta == ru.meta
        resolved = await service.resolve_voice("Привет", None, None)
        assert resolved.id == "festival-msu_ru_nsh_clunits"

    asyncio.run(main())
