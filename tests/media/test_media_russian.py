"""Russian end to end on the real engines: festival speech read back by the app's own whisper,
and tesseract reading rendered Russian + English images (clean, rotated 3°, blurred)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.storage.database import Database
from media.audio import wav_info
from media.config import MediaConfig, OCRConfig
from media.errors import EngineUnavailableError, JobCancelledError, MediaInputError
from media.ocr.tesseract_engine import TesseractEngine
from media.service import MediaService
from tests.media.conftest import char_error_rate, render_lines

pytestmark = pytest.mark.slow

SENTENCES = [
    "Встреча на вокзале в семь.",
    "Сегодня хорошая погода, пойдём гулять в парк.",
    "Я люблю читать книги по вечерам.",
    "Мама купила молоко и свежий хлеб.",
    "Завтра мы поедем к бабушке в деревню.",
]
RU_LINE = "Встреча на вокзале в семь"
EN_LINE = "Meeting at the station at seven"


@pytest.fixture
def service(  # type: ignore[no-untyped-def]
    media_config: MediaConfig, db: Database, tmp_path: Path, tts_engine, whisper_engine, ocr_engine
) -> Iterator[MediaService]:
    svc = MediaService(
        media_config,
        db,
        tmp_path / "cache",
        tts=tts_engine,
        stt=whisper_engine,
        ocr=ocr_engine,
    )
    yield svc
    svc.queues.shutdown()


# -- speech ------------------------------------------------------------------------------


def test_russian_speech_round_trip_through_the_app(service: MediaService) -> None:
    """festival -> the app's whisper (language ru): CER <= 0.2 over the five sentences."""

    async def main() -> list[tuple[str, str]]:
        pairs = []
        for sentence in SENTENCES:
            art = await service.tts(sentence)
            assert art.meta["voice"] == "festival-msu_ru_nsh_clunits"
            assert wav_info(art.data)[0] == 16000
            heard = await service.stt(art.data, "ru")
            assert heard.language == "ru" and not heard.detected
            pairs.append((sentence, heard.text))
        return pairs

    pairs = asyncio.run(main())
    expected = sum(len(s) for s, _ in pairs)
    errors = sum(char_error_rate(s, h) * len(s) for s, h in pairs)
    assert errors / expected <= 0.2, pairs
    assert all(char_error_rate(s, h) <= 0.35 for s, h in pairs), pairs


def test_russian_reply_streams_sentence_by_sentence(service: MediaService) -> None:
    async def main() -> list[int]:
        text = " ".join(SENTENCES[:3])
        chunks = [c async for c in service.tts_stream(text)]
        assert all(c.sample_rate == 16000 for c in chunks)
        again = [c async for c in service.tts_stream(text)]  # whole, from the cache
        assert len(again) == 1 and again[0].pcm == b"".join(c.pcm for c in chunks)
        return [c.index for c in chunks]

    assert asyncio.run(main()) == [0, 1, 2]


def test_stt_detects_russian_or_english_without_a_hint(
    service: MediaService,
    fox_wav: bytes,
) -> None:
    async def main() -> None:
        art = await service.tts(SENTENCES[2])
        heard = await service.stt(art.data)
        assert (heard.language, heard.detected) == ("ru", True)
        assert heard.language_probability and heard.language_probability > 0.5
        assert char_error_rate(SENTENCES[2], heard.text) <= 0.35
        english = await service.stt(fox_wav, "auto")
        assert (english.language, english.detected) == ("en", True)
        assert "fox" in english.text.lower()
        regional = await service.stt(art.data, "ru-RU")
        assert (regional.language, regional.detected) == ("ru", False)
        with pytest.raises(MediaInputError, match="unsupported language") as err:
            await service.stt(art.data, "xx-YY")
        assert err.value.key == "media.bad_language"

    asyncio.run(main())


# -- reading -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images() -> dict[str, bytes]:
    lines = [RU_LINE, EN_LINE]
    return {
        "clean": render_lines(lines),
        "rotated": render_lines(lines, rotate=3.0),
        "blurred": render_lines(lines, blur=1.2),
        "small": render_lines(lines, size=18),
    }


def test_reads_russian_and_english_lines_exactly_on_a_clean_image(
    ocr_engine: TesseractEngine, images: dict[str, bytes]
) -> None:
    for name in ("clean", "small"):
        result = ocr_engine.read(images[name])
        assert result.text == f"{RU_LINE}\n{EN_LINE}", name
        assert [line.text for line in result.lines] == [RU_LINE, EN_LINE]
        assert all(0.5 < line.confidence <= 1 and len(line.box) == 4 for line in result.lines)
        assert result.lines[0].box[0][1] < result.lines[1].box[0][1]


@pytest.mark.parametrize("name", ["rotated", "blurred"])
def test_reads_rotated_and_blurred_images_nearly_right(
    ocr_engine: TesseractEngine, images: dict[str, bytes], name: str
) -> None:
    lines = ocr_engine.read(images[name]).text.split("\n")
    assert len(lines) == 2, lines
    assert char_error_rate(RU_LINE, lines[0]) <= 0.15, lines
    assert char_error_rate(EN_LINE, lines[1]) <= 0.15, lines


def test_ocr_through_the_service_is_cached(service: MediaService, images: dict[str, bytes]) -> None:
    async def main() -> None:
        first = await service.ocr(images["clean"])
        second = await service.ocr(images["clean"])
        assert first == second and first.text.startswith(RU_LINE)

    asyncio.run(main())
    assert service.cache.stats().hits == 1


def test_missing_language_data_names_the_debian_package() -> None:
    engine = TesseractEngine(OCRConfig(tesseract_languages="rus+xyz"))
    status = engine.status()
    assert status.state == "failed" and "tesseract-ocr-xyz" in (status.detail or "")
    with pytest.raises(EngineUnavailableError, match="apt-get install") as err:
        engine.read(render_lines(["x"]))
    assert err.value.key == "media.tesseract_missing"
    missing = TesseractEngine(OCRConfig(tesseract_binary="no-such-tesseract"))
    assert "tesseract-ocr-rus" in (missing.status().detail or "")


def test_cancel_and_timeout_stop_tesseract(images: dict[str, bytes]) -> None:
    engine = TesseractEngine(OCRConfig())
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelledError):
        engine.read(images["clean"], cancel=cancel)
    slow = TesseractEngine(OCRConfig(timeout_s=0.01))
    with pytest.raises(EngineUnavailableError, match="did not finish"):
        slow.read(images["clean"])
    assert engine.read(images["clean"]).text.startswith(RU_LINE)  # unharmed afterwards
