"""Audio bytes in and out: WAV encoding for TTS, decoding uploads to 16 kHz mono for STT.

Why here and not in the engines: both directions have sharp edges (8/16/24/32-bit WAV,
stereo, odd sample rates, empty or fake files, tiny files that decode to hours of audio) and
every message must tell the user what was wrong, not show a traceback.
"""

from __future__ import annotations

import io
import wave

import numpy as np

from media.errors import MediaInputError

WHISPER_RATE = 16_000


def pcm16_to_wav(pcm: bytes, sample_rate: int, channels: int = 1) -> bytes:
    """Wrap 16-bit little-endian PCM in a WAV container."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buf.getvalue()


def wav_info(data: bytes) -> tuple[int, int, int, float]:
    """(sample_rate, channels, sample_width, seconds) of a WAV file."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        frames = wav.getnframes()
        rate = wav.getframerate()
        return rate, wav.getnchannels(), wav.getsampwidth(), frames / rate if rate else 0.0


def decode_audio(data: bytes, *, max_seconds: float, rate: int = WHISPER_RATE) -> np.ndarray:
    """Decode WAV (built in) or any format PyAV reads into float32 mono at `rate`.

    Raises `MediaInputError` for empty, unreadable, silent-length or too long audio.
    """
    if not data:
        raise MediaInputError("the audio is empty (0 bytes)")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            audio = _decode_wav(data, max_seconds=max_seconds, rate=rate)
        except MediaInputError:
            raise
        except (wave.Error, EOFError, ValueError) as exc:
            # Compressed WAV (e.g. a-law, float) is not read by `wave`: let PyAV try it.
            audio = _decode_with_av(data, max_seconds=max_seconds, rate=rate, hint=str(exc))
    else:
        audio = _decode_with_av(data, max_seconds=max_seconds, rate=rate, hint=None)
    if audio.size == 0:
        raise MediaInputError("the audio contains no samples")
    return audio


def _decode_wav(data: bytes, *, max_seconds: float, rate: int) -> np.ndarray:
    with wave.open(io.BytesIO(data), "rb") as wav:
        channels, width, src_rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        frames = wav.getnframes()
        if src_rate <= 0 or channels <= 0:
            raise MediaInputError("the WAV header is invalid (no sample rate or channels)")
        if frames / src_rate > max_seconds:
            raise MediaInputError(
                f"the audio is {frames / src_rate:.0f} s long; the limit is {max_seconds:.0f} s"
            )
        raw = wav.readframes(frames)
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float32) / float(1 << 23)
    elif width == 4:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise MediaInputError(f"unsupported WAV sample width: {width * 8} bit")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return resample(samples, src_rate, rate)


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Linear-interpolation resampling: enough for speech recognition input."""
    samples = np.asarray(samples, dtype=np.float32)
    if src_rate == dst_rate or samples.size == 0:
        return samples
    n_out = round(samples.size * dst_rate / src_rate)
    if n_out <= 0:
        return np.zeros(0, dtype=np.float32)
    x_old = np.arange(samples.size, dtype=np.float64) / src_rate
    x_new = np.arange(n_out, dtype=np.float64) / dst_rate
    return np.interp(x_new, x_old, samples).astype(np.float32)


def _decode_with_av(data: bytes, *, max_seconds: float, rate: int, hint: str | None) -> np.ndarray:
    try:
        import av
        from faster_whisper.audio import decode_audio as fw_decode
    except ImportError as exc:  # PyAV ships with faster-whisper; without it only WAV works
        raise MediaInputError("only 16-bit PCM WAV audio is supported here") from exc
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise MediaInputError("the file contains no audio stream")
            if container.duration is not None and container.duration / 1e6 > max_seconds:
                raise MediaInputError(
                    f"the audio is {container.duration / 1e6:.0f} s long; "
                    f"the limit is {max_seconds:.0f} s"
                )
        audio = fw_decode(io.BytesIO(data), sampling_rate=rate)
    except MediaInputError:
        raise
    except Exception as exc:  # PyAV raises many error types for garbage input
        detail = f" ({hint})" if hint else ""
        raise MediaInputError(
            f"the upload is not audio in a supported format (WAV, MP3, OGG, FLAC, WebM...){detail}"
        ) from exc
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size > max_seconds * rate:
        raise MediaInputError(f"the audio is longer than the limit of {max_seconds:.0f} s")
    return audio
