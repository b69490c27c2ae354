"""The REST contract for Russian media: voices listed, Russian speech and reading, errors in
both languages, engines in /health. Real app, real engines."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from tests.media.conftest import render_lines

pytestmark = pytest.mark.slow


@pytest.fixture
def client(make_settings: Any) -> Iterator[TestClient]:
    app = create_app(make_settings())
    with TestClient(app) as test_client:
        yield test_client


def test_voices_list_festivals_russian_voice(client: TestClient) -> None:
    voices = client.get("/api/voices").json()
    by_id = {v["id"]: v for v in voices}
    russian = by_id["festival-msu_ru_nsh_clunits"]
    assert (russian["engine"], russian["language"], russian["sample_rate"]) == (
        "festival",
        "ru",
        16000,
    )
    assert by_id["en_US-joe-medium"]["engine"] == "piper"
    assert all("path" not in v for v in voices)


def test_russian_text_is_spoken_by_the_russian_voice(client: TestClient) -> None:
    r = client.post("/api/tts", json={"text": "Привет! Как дела?"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000
    english = client.post("/api/tts", json={"text": "Hello there."})
    with wave.open(io.BytesIO(english.content)) as w:
        assert w.getframerate() == 22050


def test_bad_speech_input_is_a_bilingual_400(client: TestClient) -> None:
    # control characters are refused at the edge, in both languages (the security rule)
    r = client.post("/api/tts", json={"text": "\x00\x01\x02"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid_text"
    assert body["messages"]["ru"] and body["messages"]["en"]
    # text with nothing a voice can say (punctuation only) is the media rule's
    r = client.post("/api/tts", json={"text": "…!?"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "bad_media_input"
    assert body["messages"]["ru"] == "В тексте нет ничего, что можно произнести"
    assert body["messages"]["en"] == "The text contains nothing that can be spoken"
    r = client.post("/api/tts", json={"text": "Привет", "voice": "../../etc/passwd"})
    assert r.status_code == 400 and "Неизвестный голос" in r.json()["messages"]["ru"]


def test_russian_and_english_lines_are_read(client: TestClient) -> None:
    png = render_lines(["Встреча на вокзале в семь", "Meeting at the station at seven"])
    r = client.post("/api/ocr", files={"file": ("note.png", png, "image/png")})
    assert r.status_code == 200
    assert r.json()["text"] == "Встреча на вокзале в семь\nMeeting at the station at seven"


def test_health_shows_each_speech_engine(client: TestClient) -> None:
    media = client.get("/health").json()["components"]["media"]
    assert set(media["tts_engines"]) == {"piper", "festival"}
    assert media["tts_engines"]["festival"]["state"] != "failed"
    assert media["engines"]["ocr"]["engine"] == "tesseract"
    assert media["engines"]["ocr"]["state"] == "ready"  # probed: tesseract and rus+eng found


def test_a_missing_engine_is_named_in_both_languages(make_settings: Any) -> None:
    settings = make_settings(
        media={"tts": {"festival_binary": "no-such-festival"}, "ocr": {"tesseract_binary": "nope"}}
    )
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/tts", json={"text": "Привет, как дела?"})
        assert r.status_code == 503 and r.json()["error"] == "engine_unavailable"
        messages = r.json()["messages"]
        assert "festival festvox-ru" in messages["en"] and "festival festvox-ru" in messages["ru"]
        assert "Нет голоса для русского языка" in messages["ru"]
        r = client.post("/api/ocr", files={"file": ("n.png", render_lines(["текст"]), "image/png")})
        assert r.status_code == 503 and "tesseract-ocr-rus" in r.json()["messages"]["ru"]
        media = client.get("/health").json()["components"]["media"]
        assert media["state"] == "degraded"  # OCR is down
        assert "festival" in media["engines"]["tts"]["detail"]
        assert "apt-get install" in media["engines"]["ocr"]["detail"]
