"""A voice per persona: kept in the card's `extensions.ikar`, through export and import, and
used when a chat turn speaks (SPEAK markers, "speak replies"), in the UI and over REST.

Real engines: festival (+ festvox-ru) speaks Russian at 16 kHz, piper's joe English at
22.05 kHz; the model is scripted (the test is about the voice, not what a model says).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import wave
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.composition import Services, build_services
from app.factory import create_app
from app.services.media_turns import speak_as_persona
from app.soul import Persona, PersonaUpdate
from app.soul.card_codec import parse_card
from app.soul.persona_settings import IkarSoulSettings
from app.ui.chat_media import ChatMedia
from config.settings import Settings
from tests.app.fakes import ScriptedBackend, use_scripted
from tests.soul.conftest import FIXTURES

pytestmark = pytest.mark.slow

RUSSIAN = "festival-msu_ru_nsh_clunits"
JOE = "en_US-joe-medium"


def scripted(settings: Settings, words: list[str]) -> Services:
    """Services whose model answers with `words` (and the real speech engines)."""

    services = build_services(settings)
    use_scripted(services, ScriptedBackend(words=words))
    return services


def card(voice: str | None, language: str = "ru") -> dict[str, Any]:
    raw = json.loads((FIXTURES / "card_v3.json").read_text(encoding="utf-8"))
    raw["data"]["name"] = "Голосистая"
    raw["data"]["extensions"]["ikar"] = {
        "language": language,
        "voice": voice,
        "from_a_newer_ikar": {"kept": True},
    }
    return raw


def import_card(services: Services, raw: dict[str, Any], owner: str = "u1") -> Persona:
    data = json.dumps(raw, ensure_ascii=False).encode()
    return services.soul.import_card(data, "voice.json", owner_id=owner)


def rate(wav: bytes) -> int:
    with wave.open(io.BytesIO(wav)) as w:
        return w.getframerate()


# -- the card ---------------------------------------------------------------------------
def test_voice_survives_json_and_png_export_and_import(services: Services) -> None:
    persona = import_card(services, card(None))
    assert persona.settings.voice is None
    changed = IkarSoulSettings.model_validate(
        {**persona.settings.model_dump(mode="json"), "voice": RUSSIAN}
    )
    persona = services.soul.update_persona(persona.id, PersonaUpdate(ikar=changed), "u1")
    assert persona.settings.voice == RUSSIAN
    ikar = persona.raw_card["data"]["extensions"]["ikar"]
    assert ikar["voice"] == RUSSIAN and ikar["from_a_newer_ikar"] == {"kept": True}
    for fmt in ("json", "png"):
        exported = services.soul.export_card(persona.id, fmt, "u1")
        parsed = parse_card(exported)
        assert parsed.settings.voice == RUSSIAN, fmt
        again = services.soul.import_card(exported, f"again.{fmt}", owner_id="u2")
        assert again.settings.voice == RUSSIAN
        assert again.raw_card["data"]["extensions"]["ikar"]["from_a_newer_ikar"]["kept"]


def test_a_garbled_voice_in_a_card_is_cleaned_not_refused(services: Services) -> None:
    persona = import_card(services, card("\x00festival-msu_ru_nsh_clunits\u200b\x1b "))
    assert persona.settings.voice == RUSSIAN
    assert import_card(services, card(" \x00\t")).settings.voice is None


# -- choosing the voice -----------------------------------------------------------------
def test_preferred_voice_falls_back_with_a_logged_notice(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    media = services.media

    async def main() -> list[str | None]:
        return [
            await media.preferred_voice(RUSSIAN, "Привет, как дела?"),
            await media.preferred_voice("ru_RU-nobody-high", "Привет, как дела?"),
            await media.preferred_voice(RUSSIAN, "Hello, how are you?"),
            await media.preferred_voice(RUSSIAN, "12345", "ru"),
            await media.preferred_voice(None, "Привет"),
        ]

    with caplog.at_level(logging.INFO, logger="media.service"):
        chosen = asyncio.run(main())
    assert chosen == [RUSSIAN, None, None, RUSSIAN, None]
    notices = [r.getMessage() for r in caplog.records if r.name == "media.service"]
    assert any("'ru_RU-nobody-high' is not installed" in n for n in notices), notices
    assert any(RUSSIAN in n and "speaks ru" in n for n in notices), notices


def test_a_long_reply_is_spoken_up_to_a_whole_sentence(services: Services) -> None:
    sentence = "Это довольно длинное предложение для проверки. "
    reply = sentence * 200  # ~9600 characters, over the 4000 limit
    art = asyncio.run(speak_as_persona(services.media, reply, voice=RUSSIAN, persona_language="ru"))
    assert art.meta["voice"] == RUSSIAN and rate(art.data) == 16000
    with wave.open(io.BytesIO(art.data)) as w:
        assert w.getnframes() / w.getframerate() > 60  # many sentences, not one


# -- a chat turn ------------------------------------------------------------------------
def test_a_persona_with_the_russian_voice_speaks_its_turn_with_it(make_settings: Any) -> None:
    words = ["Слушай. ", 'SPEAK!{"text": "Встреча на вокзале в семь."}']
    services = scripted(make_settings(), words)
    try:
        persona = import_card(services, card(RUSSIAN))
        final = asyncio.run(services.chat.complete("u1", "Скажи вслух", persona_id=persona.id))
        assert final.type == "done" and final.outcome is not None
        media = final.outcome.media_wire()
        assert media is not None and media[0]["kind"] == "speech", media
        assert media[0]["voice"] == RUSSIAN and media[0]["language"] == "ru"
        path = services.media.artifact_path(media[0]["key"])
        assert path is not None and rate(path.read_bytes()) == 16000
        stored = services.chat.messages.list("u1", final.conversation_id)[-1]
        assert stored.meta["media"][0]["voice"] == RUSSIAN
    finally:
        services.close()


def test_a_missing_or_foreign_voice_falls_back_to_the_replys_language(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    words = ["Sure. ", 'SPEAK!{"text": "See you at the station at seven."}']
    services = scripted(make_settings(), words)
    try:
        russian = import_card(services, card(RUSSIAN))
        missing = import_card(services, card("ru_RU-gone-medium"))
        with caplog.at_level(logging.INFO, logger="media.service"):
            outcomes = [
                asyncio.run(services.chat.complete("u1", "Say it", persona_id=p.id)).outcome
                for p in (russian, missing)
            ]
        for outcome in outcomes:
            assert outcome is not None and outcome.media is not None
            spoken = outcome.media[0]
            assert (spoken.kind, spoken.voice, spoken.language) == ("speech", JOE, "en")
        assert any("'ru_RU-gone-medium' is not installed" in r.getMessage() for r in caplog.records)
    finally:
        services.close()


def test_speak_replies_in_the_chat_tab_uses_the_persona_voice(services: Services) -> None:
    persona = import_card(services, card(RUSSIAN))
    chat_media = ChatMedia(services)
    session = services.session_signer.sign({"user_id": "u1", "lang": "en"})
    path = asyncio.run(chat_media.speak("Добрый вечер! Как прошёл день?", persona.id, session))
    assert path is not None and rate(Path(path).read_bytes()) == 16000
    english = asyncio.run(chat_media.speak("Good evening!", persona.id, session))
    assert english is not None and rate(Path(english).read_bytes()) == 22050


# -- REST -------------------------------------------------------------------------------
def test_rest_imported_persona_speaks_its_chat_turn_with_its_voice(make_settings: Any) -> None:
    settings = make_settings()
    words = ["Хорошо. ", 'SPEAK!{"text": "Доброе утро, как спалось?"}']
    services = scripted(settings, words)
    with TestClient(create_app(settings, services)) as client:
        upload = json.dumps(card(RUSSIAN), ensure_ascii=False).encode()
        r = client.post("/api/personas", files={"file": ("voice.json", upload)})
        assert r.status_code == 201, r.text
        persona_id = r.json()["id"]
        r = client.post("/api/chat", json={"message": "Скажи что-нибудь", "persona": persona_id})
        assert r.status_code == 200, r.text
        spoken = r.json()["media"][0]
        assert (spoken["kind"], spoken["voice"], spoken["language"]) == ("speech", RUSSIAN, "ru")
        wav = client.get(f"/api/artifacts/{spoken['key']}")
        assert wav.status_code == 200 and rate(wav.content) == 16000
        exported = client.get(f"/api/personas/{persona_id}/export?format=png")
        assert parse_card(exported.content).settings.voice == RUSSIAN
        # A client reading a reply aloud as the persona.
        said = {"text": "Доброе утро!", "persona": persona_id}
        r = client.post("/api/tts", json=said)
        assert r.status_code == 200 and r.headers["X-Voice"] == RUSSIAN
        r = client.post("/api/tts", json={"text": "Good morning!", "persona": persona_id})
        assert r.headers["X-Voice"] == JOE and rate(r.content) == 22050  # falls back
        r = client.post("/api/tts", json={**said, "voice": JOE})
        assert r.headers["X-Voice"] == JOE  # a named voice wins
        r = client.post("/api/tts", json={"text": "Привет", "persona": "nobody-here"})
        assert r.status_code == 404 and r.json()["messages"]["ru"]


def test_rest_tts_language_field_and_voices_by_language(make_settings: Any) -> None:
    with TestClient(create_app(make_settings())) as client:
        russian = client.get("/api/voices", params={"language": "ru"}).json()
        assert [v["id"] for v in russian] == [RUSSIAN]
        assert (russian[0]["language"], russian[0]["lang"], russian[0]["engine"]) == (
            "ru",
            "ru",
            "festival",
        )
        every = {v["id"]: v for v in client.get("/api/voices").json()}
        assert every[JOE]["lang"] == "en" and every[JOE]["language"] == "en_US"
        assert client.get("/api/voices", params={"language": "xx"}).status_code == 422

        # Digits only: the language field decides the voice.
        ru = client.post("/api/tts", json={"text": "12 345", "language": "ru"})
        assert ru.status_code == 200 and ru.headers["X-Voice"] == RUSSIAN
        assert ru.headers["X-Language"] == "ru" and rate(ru.content) == 16000
        en = client.post("/api/tts", json={"text": "12 345", "language": "en"})
        assert en.headers["X-Voice"] == JOE and rate(en.content) == 22050
        auto = client.post("/api/tts", json={"text": "Привет!", "language": "auto"})
        assert auto.headers["X-Voice"] == RUSSIAN
        # The letters beat the hint; a named voice beats both.
        letters = client.post("/api/tts", json={"text": "Hello!", "language": "ru"})
        assert letters.headers["X-Voice"] == JOE
        named = client.post("/api/tts", json={"text": "12", "voice": JOE, "language": "ru"})
        assert named.headers["X-Voice"] == JOE
        bad = client.post("/api/tts", json={"text": "Привет", "language": "de"})
        assert bad.status_code == 422


# -- an engine that is not installed -----------------------------------------------------
def test_a_missing_russian_engine_is_named_in_both_languages(make_settings: Any) -> None:
    settings = make_settings(media={"tts": {"festival_binary": "no-such-festival"}})
    words = ["Слушай. ", 'SPEAK!{"text": "Встреча на вокзале в семь."}']
    services = scripted(settings, words)
    try:
        persona = import_card(services, card(RUSSIAN))
        final = asyncio.run(services.chat.complete("u1", "Скажи вслух", persona_id=persona.id))
        assert final.type == "done" and final.reply == "Слушай."  # the reply is kept
        assert final.outcome is not None and final.outcome.media is not None
        failed = final.outcome.media[0]
        assert failed.kind == "speak" and failed.key is None and failed.messages is not None
        assert "festival festvox-ru" in failed.messages["ru"]
        assert "festival festvox-ru" in failed.messages["en"]
        assert failed.messages["ru"].startswith("Нет голоса для русского языка")
        assert failed.messages["en"].startswith("No voice speaks Russian")

        from app.ui.chat_render import media_messages

        shown = media_messages(final.outcome.media_wire() or [], "ru", lambda _k: None)
        assert "festival festvox-ru" in json.dumps(shown, ensure_ascii=False)

        chat_media = ChatMedia(services)
        for lang, said in (("ru", "Нет голоса для русского"), ("en", "No voice speaks Russian")):
            session = services.session_signer.sign({"user_id": "u1", "lang": lang})
            with pytest.warns(UserWarning, match=said):
                assert asyncio.run(chat_media.speak("Привет!", persona.id, session)) is None
        # English still speaks (piper), whatever the persona's voice.
        session = services.session_signer.sign({"user_id": "u1", "lang": "en"})
        assert asyncio.run(chat_media.speak("Hello!", persona.id, session)) is not None
    finally:
        services.close()
