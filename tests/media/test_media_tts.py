"""piper TTS with the bundled joe voice: real audio, sentence streaming, voice discovery."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from media.audio import wav_info
from media.config import TTSConfig
from media.errors import MediaInputError
from media.tts.piper_engine import PiperEngine, bundled_voice_paths

pytestmark = pytest.mark.slow


def test_synthesizes_a_sentence_at_22050_hz(fox_wav: bytes) -> None:
    rate, channels, width, seconds = wav_info(fox_wav)
    assert (rate, channels, width) == (22050, 1, 2)
    assert 1.0 < seconds < 6.0
    with wave.open(io.BytesIO(fox_wav)) as w:
        frames = w.readframes(w.getnframes())
    assert (
        max(
            abs(int.from_bytes(frames[i : i + 2], "little", signed=True))
            for i in range(0, len(frames), 200)
        )
        > 1000
    )  # not silence


def test_streams_one_chunk_per_sentence(piper_engine) -> None:  # type: ignore[no-untyped-def]
    chunks = list(piper_engine.stream("First sentence here. Second one follows! A third?"))
    assert [c.index for c in chunks] == [0, 1, 2]
    assert all(c.sample_rate == 22050 and c.seconds > 0.3 for c in chunks)
    assert wav_info(chunks[0].wav())[0] == 22050


def test_default_voice_is_the_bundled_joe(piper_engine) -> None:  # type: ignore[no-untyped-def]
    voice = piper_engine.resolve_voice(None)
    assert voice.id == "en_US-joe-medium" and voice.bundled and voice.sample_rate == 22050


def test_voice_dropped_into_folder_appears_and_is_usable(tmp_path: Path) -> None:
    paths = bundled_voice_paths()
    assert paths is not None
    (tmp_path / "my_voice.onnx").symlink_to(paths[0])
    (tmp_path / "my_voice.onnx.json").symlink_to(paths[1])
    (tmp_path / "incomplete.onnx").write_bytes(b"no config next to me")
    engine = PiperEngine(TTSConfig(voices_dir=tmp_path))
    assert [v.id for v in engine.voices()] == ["en_US-joe-medium", "my_voice"]
    wav = engine.synthesize("Hello.", "my_voice")
    assert wav_info(wav)[3] > 0.2


def test_unknown_voice_and_empty_text_are_clear_errors(piper_engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediaInputError, match="unknown voice"):
        piper_engine.synthesize("Hello.", "../../etc/passwd")
    with pytest.raises(MediaInputError, match="no text"):
        piper_engine.synthesize("   ")


def test_cache_inputs_change_with_voice_and_text(piper_engine) -> None:  # type: ignore[no-untyped-def]
    a = piper_engine.cache_inputs("Hello.", None)
    assert a["voice_sha256"] and a["engine_version"]
    assert a != piper_engine.cache_inputs("Hello!", None)
