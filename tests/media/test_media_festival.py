"""festival with Debian's festvox-ru: one long-lived process, sentence streaming, bad input."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media.audio import wav_info
from media.config import TTSConfig
from media.errors import EngineUnavailableError, JobCancelledError, MediaInputError
from media.tts.festival_engine import APT_LINE, FestivalEngine, festival_text

pytestmark = pytest.mark.slow

RU_VOICE = "festival-msu_ru_nsh_clunits"


def _pid(engine: FestivalEngine) -> int:
    process = engine._model(engine.resolve_voice(RU_VOICE))._model  # the running FestivalProcess
    assert process is not None and process._proc is not None
    return process._proc.pid


def test_lists_the_russian_voice(festival_engine: FestivalEngine) -> None:
    [voice] = [v for v in festival_engine.voices() if v.id == RU_VOICE]
    assert (voice.engine, voice.language, voice.sample_rate) == ("festival", "ru", 16000)
    assert Path(voice.path).is_dir()
    assert festival_engine.resolve_voice(None, "ru").id == RU_VOICE


def test_streams_one_chunk_per_sentence_from_one_process(festival_engine: FestivalEngine) -> None:
    chunks = list(festival_engine.stream("Привет! Как у тебя дела? Встретимся вечером."))
    assert [c.index for c in chunks] == [0, 1, 2]
    assert all(c.sample_rate == 16000 and c.seconds > 0.4 for c in chunks)
    first = _pid(festival_engine)
    wav = festival_engine.synthesize("Ещё одна фраза.")
    assert wav_info(wav)[0] == 16000 and wav_info(wav)[3] > 0.5
    assert _pid(festival_engine) == first  # no new process per sentence
    status = festival_engine.status()
    assert status.state == "ready" and status.load_seconds is not None


def test_a_killed_festival_is_started_again(festival_engine: FestivalEngine) -> None:
    festival_engine.synthesize("Первая фраза.")
    old = _pid(festival_engine)
    os.kill(old, signal.SIGKILL)
    wav = festival_engine.synthesize("Вторая фраза.")
    assert wav_info(wav)[3] > 0.5 and _pid(festival_engine) != old


def test_control_characters_are_stripped_not_spoken(festival_engine: FestivalEngine) -> None:
    dirty = "Добрый\x00 вечер\x1b[31m!\u202e\ud800"
    clean = "Добрый вечер[31m!"
    assert festival_engine.cache_inputs(dirty, None)["text"] == clean
    assert festival_engine.synthesize(dirty) == festival_engine.synthesize(clean)


def test_scheme_in_the_text_is_only_read_aloud(festival_engine: FestivalEngine) -> None:
    """The text goes through a file, never the command pipe: festival must not run it."""
    marker = Path(f"/tmp/ikar-festival-injection-{os.getpid()}")
    marker.unlink(missing_ok=True)
    text = f'") (system "touch {marker}") ("  (quit)'
    festival_engine.synthesize(text)
    assert not marker.exists()
    assert wav_info(festival_engine.synthesize("Всё ещё работаю."))[3] > 0.5  # still alive


def test_long_text_is_cut_into_pieces(festival_engine: FestivalEngine) -> None:
    engine = FestivalEngine(TTSConfig(max_sentence_chars=60))
    try:
        text = ", ".join(["мы шли по длинной дороге"] * 8) + "."
        chunks = list(engine.stream(text))
        assert len(chunks) >= 4 and [c.index for c in chunks] == list(range(len(chunks)))
    finally:
        engine.unload()
    with pytest.raises(MediaInputError, match="limit"):
        festival_engine.synthesize("а" * 4001)


def test_nothing_to_say_and_unknown_voice_are_input_errors(
    festival_engine: FestivalEngine,
) -> None:
    with pytest.raises(MediaInputError, match="no text"):
        festival_engine.synthesize(" \x00\x07 ")
    with pytest.raises(MediaInputError, match="nothing that can be spoken"):
        festival_engine.synthesize("... !!! ---")
    with pytest.raises(MediaInputError, match="unknown voice") as err:
        festival_engine.synthesize("Привет.", "festival-../../etc")
    assert err.value.key == "media.unknown_voice"


def test_cancel_stops_between_sentences(festival_engine: FestivalEngine) -> None:
    cancel = threading.Event()
    stream = festival_engine.stream("Раз. Два. Три. Четыре.", cancel=cancel)
    next(stream)
    cancel.set()
    with pytest.raises(JobCancelledError):
        next(stream)
    stream.close()


def test_a_missing_festival_is_named_with_the_apt_line(tmp_path: Path) -> None:
    engine = FestivalEngine(TTSConfig(festival_binary="no-such-festival"))
    assert engine.voices() == []
    status = engine.status()
    assert status.state == "failed" and APT_LINE in (status.detail or "")
    with pytest.raises(EngineUnavailableError, match="festival festvox-ru") as err:
        engine.synthesize("Привет.")
    assert err.value.key == "media.festival_missing"
    no_voices = FestivalEngine(TTSConfig(festival_voices_dir=tmp_path))
    assert "no festival voice" in (no_voices.status().detail or "")


def test_idle_unload_stops_the_process() -> None:
    engine = FestivalEngine(TTSConfig(idle_unload_s=0.3))
    engine.synthesize("Привет.")
    pid = _pid(engine)
    pause = threading.Event()
    gone = False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone = True
            break
        pause.wait(0.1)
    assert gone and engine.status().state == "unloaded"


def test_a_typical_reply_is_spoken_whole(festival_engine: FestivalEngine) -> None:
    """Dashes, «quotes», an emoji, 7:30 and 50% each made festival drop the whole sentence."""
    reply = (
        "Конечно — встретимся в 7:30 у «Белорусской» 😀. Скидка 50% только сегодня… "
        "Возьми зонт, а то дождь!"
    )
    chunks = list(festival_engine.stream(reply))
    assert len(chunks) == 3 and all(c.seconds > 1.0 for c in chunks)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Это — тест «кавычек».", 'Это, тест "кавычек".'),
        ("Встреча в 7:30, цена 3.5 и 50%.", "Встреча в 7 30, цена 3 5 и 50 процентов."),
        ("Смайлик 😀 здесь , да .", "Смайлик здесь, да."),
        ("ключ_слово и a/b… ", "ключ слово и a b..."),
        ("(((  ))) —", ""),
        ("Да — , — нет ,, — ладно — .", "Да, нет, ладно."),
    ],
)
def test_festival_text_keeps_only_what_festival_reads(text: str, said: str) -> None:
    assert festival_text(text, "ru") == said


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
        | st.sampled_from(list("абвгдеёжзийклмнопрстуфхцчшщъыьэюя .,!?—«»…:%№0123456789")),
        max_size=120,
    )
)
def test_any_text_is_spoken_or_refused_clearly(festival_engine: FestivalEngine, text: str) -> None:
    """Whatever a model or a client sends: audio, or a MediaInputError; festival survives."""
    try:
        wav = festival_engine.synthesize(text)
    except MediaInputError:
        return
    assert wav_info(wav)[0] == 16000
