"""Language routing: Russian text to a Russian voice, English to English, a named voice wins.

The router tests run the real engines (piper with the bundled joe voice, festival with
festvox-ru); the language, sentence and cleaning rules below them are plain functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from media.audio import wav_info
from media.config import TTSConfig
from media.errors import EngineUnavailableError, MediaInputError
from media.language import detect_language, normalize_language
from media.tts.festival_engine import FestivalEngine
from media.tts.piper_engine import PiperEngine, bundled_voice_paths
from media.tts.router import VoiceRouter
from media.tts.sentences import clean_speech_text, split_sentences

JOE = "en_US-joe-medium"
RU = "festival-msu_ru_nsh_clunits"


# -- the rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Встреча на вокзале в семь.", "ru"),
        ("Meeting at the station at seven.", "en"),
        ("Я купила новый iPhone и MacBook вчера вечером.", "ru"),  # a few Latin brand names
        ("She said «да» and left.", "en"),
        ("2024 — 365!", None),
        ("😀👍", None),
        ("", None),
        ("Hello привет", None),  # a tie: the caller's hint decides
    ],
)
def test_detect_language_by_script(text: str, language: str | None) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("code", "short"),
    [("ru", "ru"), ("ru-RU", "ru"), ("ru_RU", "ru"), (" EN ", "en"), ("auto", None),
     (None, None), ("", None), ("../../x", None), ("klingon", None)],
)  # fmt: skip
def test_normalize_language(code: str | None, short: str | None) -> None:
    assert normalize_language(code) == short


def test_clean_speech_text_drops_controls_and_keeps_lines() -> None:
    assert clean_speech_text("a\x00b\x1b[0m\u200b\u202e c\t\td\r\n\n e\ud800") == "ab[0m c d\ne"
    assert clean_speech_text("\x00\x01\x02") == ""


def test_split_sentences_keeps_abbreviations_and_cuts_long_ones() -> None:
    text = "Привет! Т. е. всё хорошо. Встреча в 7. «Да», сказал он.\nНовая строка"
    assert split_sentences(text, 300) == [
        "Привет!",
        "Т. е. всё хорошо.",
        "Встреча в 7.",
        "«Да», сказал он.",
        "Новая строка",
    ]
    long = ", ".join(["слово"] * 100)
    pieces = split_sentences(long, 120)
    assert all(len(p) <= 120 for p in pieces) and " ".join(pieces) == long
    assert [len(p) for p in split_sentences("а" * 700, 300)] == [300, 300, 100]
    assert split_sentences("... !!! ---", 300) == []


# -- the router on the real engines -------------------------------------------------------


@pytest.mark.slow
def test_russian_goes_to_festival_and_english_to_piper(tts_engine: VoiceRouter) -> None:
    ru = tts_engine.route("Доброе утро! Как спалось?")
    en = tts_engine.route("Good morning! How did you sleep?")
    assert (ru.voice.id, ru.engine.name, ru.language) == (RU, "festival", "ru")
    assert ru.reason == "language"
    assert (en.voice.id, en.engine.name, en.language) == (JOE, "piper", "en")
    assert wav_info(tts_engine.synthesize("Доброе утро!"))[0] == 16000
    assert wav_info(tts_engine.synthesize("Good morning!"))[0] == 22050


@pytest.mark.slow
def test_a_named_voice_wins_over_the_language(tts_engine: VoiceRouter) -> None:
    route = tts_engine.route("Доброе утро!", JOE)
    assert (route.voice.id, route.reason) == (JOE, "named")
    assert tts_engine.route("Good morning!", RU).voice.id == RU
    with pytest.raises(MediaInputError, match="unknown voice"):
        tts_engine.route("Hello", "no-such-voice")


@pytest.mark.slow
def test_the_hint_decides_only_for_text_without_letters(tts_engine: VoiceRouter) -> None:
    assert tts_engine.route("2024!", language="ru").voice.id == RU
    assert tts_engine.route("2024!", language="en-US").voice.id == JOE
    assert tts_engine.route("2024!").voice.id == JOE  # default_language en
    assert tts_engine.route("Good morning!", language="ru").voice.id == JOE  # letters win
    assert tts_engine.resolve_voice(None, "ru").id == RU


@pytest.mark.slow
def test_voices_of_both_engines_are_listed(tts_engine: VoiceRouter) -> None:
    voices = {v.id: v for v in tts_engine.voices()}
    assert voices[JOE].engine == "piper" and voices[RU].engine == "festival"
    assert voices[RU].language == "ru"


def _russian_piper_voice(folder: Path) -> str:
    """A user-added ru_RU piper voice: joe's network with a Russian config (real files)."""
    paths = bundled_voice_paths()
    assert paths is not None
    config = json.loads(paths[1].read_text())
    config["language"] = {"code": "ru_RU", "family": "ru", "region": "RU"}
    config["espeak"] = {"voice": "ru"}
    (folder / "ru_RU-test-medium.onnx").symlink_to(paths[0])
    (folder / "ru_RU-test-medium.onnx.json").write_text(json.dumps(config))
    return "ru_RU-test-medium"


@pytest.mark.slow
def test_a_russian_piper_voice_wins_over_festival(tmp_path: Path, festival_engine) -> None:  # type: ignore[no-untyped-def]
    voice = _russian_piper_voice(tmp_path)
    config = TTSConfig(voices_dir=tmp_path)
    router = VoiceRouter([PiperEngine(config), festival_engine], config)
    route = router.route("Доброе утро!")
    assert (route.voice.id, route.engine.name) == (voice, "piper")
    assert router.route("Good morning!").voice.id == JOE  # English keeps the bundled joe
    assert wav_info(router.synthesize("Доброе утро!"))[0] == 22050
    assert router.route("Доброе утро!", RU).voice.id == RU  # festival still by name


@pytest.mark.slow
def test_language_voices_setting_beats_the_automatic_choice(
    tmp_path: Path,
    festival_engine,  # type: ignore[no-untyped-def]
) -> None:
    _russian_piper_voice(tmp_path)
    config = TTSConfig(voices_dir=tmp_path, language_voices={"ru": RU})
    router = VoiceRouter([PiperEngine(config), festival_engine], config)
    route = router.route("Доброе утро!")
    assert (route.voice.id, route.reason) == (RU, "configured")


@pytest.mark.slow
def test_russian_without_a_russian_voice_names_what_to_install() -> None:
    config = TTSConfig(festival_binary="no-such-festival")
    router = VoiceRouter([PiperEngine(config), FestivalEngine(config)], config)
    assert router.route("Hello there.").voice.id == JOE  # English still speaks
    with pytest.raises(EngineUnavailableError, match="festival festvox-ru") as err:
        router.synthesize("Привет, как дела?")
    assert err.value.key == "media.no_russian_voice"
    status = router.status()
    assert status.state != "failed"  # piper still works
    assert "festival" in (status.detail or "") and "apt-get install" in (status.detail or "")
    assert router.statuses()["festival"].state == "failed"


@pytest.mark.slow
def test_cache_inputs_follow_the_chosen_voice(tts_engine: VoiceRouter) -> None:
    ru = tts_engine.cache_inputs("Привет!", None)
    en = tts_engine.cache_inputs("Hello!", None)
    assert (ru["engine"], ru["voice"]) == ("festival", RU)
    assert (en["engine"], en["voice"]) == ("piper", JOE)
    assert tts_engine.cache_inputs("Привет!\x00", None) == ru  # cleaned before keying
