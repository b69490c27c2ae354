"""faster-whisper STT: assembled once from the part packages, round-trips piper's speech."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media.errors import MediaInputError
from media.stt.packaged_whisper import WhisperAssembler, is_assembled, packaged_parts

pytestmark = pytest.mark.slow


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()


def test_transcribes_piper_speech_back_to_the_same_words(whisper_engine, fox_wav) -> None:  # type: ignore[no-untyped-def]
    result = whisper_engine.transcribe(fox_wav, "en")
    heard = _words(result.text)
    expected = _words("The quick brown fox jumps over the lazy dog.")
    # piper adds random noise to every synthesis, so now and then whisper mishears one
    # word ("quit" for "quick"): the same words in the same order, one slip allowed.
    assert len(heard) == len(expected)
    assert sum(a != b for a, b in zip(heard, expected, strict=True)) <= 1
    assert result.language == "en" and result.duration_s and result.duration_s > 1


def test_stereo_44k_wav_is_decoded_too(whisper_engine, piper_engine) -> None:  # type: ignore[no-untyped-def]
    import io
    import wave

    import numpy as np

    from media.audio import resample

    chunk = next(iter(piper_engine.stream("Good morning everyone.")))
    mono = np.frombuffer(chunk.pcm, dtype="<i2").astype(np.float32)
    up = resample(mono, 22050, 44100).astype("<i2")
    stereo = np.stack([up, up], axis=1).tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(stereo)
    assert _words(whisper_engine.transcribe(buf.getvalue(), "en").text) == [
        "good",
        "morning",
        "everyone",
    ]


def test_model_is_assembled_once_with_the_right_size(whisper_engine, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    folder = whisper_engine.prepare()
    _, parts = packaged_parts()
    assert (folder / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)
    assert is_assembled(folder)
    mtime = (folder / "model.bin").stat().st_mtime_ns
    again = WhisperAssembler(folder)
    assert again.ensure() == folder and again.assembled_now is False
    assert (folder / "model.bin").stat().st_mtime_ns == mtime
    assert not list(folder.glob(".model.bin.*"))


def test_damaged_model_is_reassembled(tmp_path: Path) -> None:
    assembler = WhisperAssembler(tmp_path / "w")
    assembler.ensure()
    (tmp_path / "w" / "model.bin").write_bytes(b"truncated")
    assert not is_assembled(tmp_path / "w")
    fresh = WhisperAssembler(tmp_path / "w")
    fresh.ensure()
    assert fresh.assembled_now and is_assembled(tmp_path / "w")


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (b"", "empty"),
        (b"this is plain text, not audio at all" * 10, "not audio"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt garbage", "not audio"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not audio|no audio stream"),
    ],
)
def test_bad_audio_gives_a_clear_error(whisper_engine, audio: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediaInputError, match=message):
        whisper_engine.transcribe(audio, "en")


def test_too_short_and_too_long_audio(whisper_engine, silence_wav) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediaInputError, match="too short"):
        whisper_engine.transcribe(silence_wav(0.01), "en")
    with pytest.raises(MediaInputError, match="limit"):
        whisper_engine.transcribe(silence_wav(601), "en")


def test_unknown_language_is_refused(whisper_engine, fox_wav) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediaInputError, match="unsupported language"):
        whisper_engine.transcribe(fox_wav, "klingon")
