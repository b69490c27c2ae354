"""festival (Debian `festival` + `festvox-ru`): the offline Russian voice.

Why festival: no Russian piper voice and no other offline Russian synthesiser ships in any
package we can install, while Debian's msu_ru_nsh clunits voice is intelligible (whisper reads
it back with a character error rate under 0.2). Why one long-lived process: `text2wave` pays
~0.5 s of start-up and voice loading for every call, more than the synthesis of a sentence
itself, so each voice gets one `festival --pipe` child that stays loaded (and is unloaded after
an idle time like any model).

The text never becomes Scheme code: each sentence is written to a file in the process's own
private folder and read by festival's `tts_file`; only fixed commands with our own file names
go down the pipe. Voice ids are `festival-<voice>` for each voice folder
`<festival_voices_dir>/<language>/<voice>/` (re-read on every `voices()` call).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from media.config import TTSConfig
from media.errors import EngineUnavailableError, JobCancelledError, MediaError
from media.language import normalize_language
from media.lazy import EngineStatus, LazyModel
from media.tts.base import (
    SpeechChunk,
    StreamedSynthesis,
    VoiceInfo,
    unknown_voice,
    voices_of_language,
)
from media.tts.sentences import checked_speech_text, split_sentences

log = logging.getLogger(__name__)

ID_PREFIX = "festival-"
APT_PACKAGES = "festival festvox-ru"
APT_LINE = f"sudo apt-get install --no-install-recommends {APT_PACKAGES}"
# festival's voice folders are named for the language; the voice files do not say it.
_LANGUAGES = {
    "russian": "ru",
    "english": "en",
    "spanish": "es",
    "welsh": "cy",
    "finnish": "fi",
    "czech": "cs",
    "italian": "it",
    "german": "de",
}
# A voice name becomes part of a Scheme call ((voice_<name>)): letters, digits and _ only.
_VOICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_START_S = 30.0  # loading a clunits voice takes ~0.6 s; a busy machine may need far more

# Defined once per process. `ikar_say` synthesises one input file into one RIFF file and
# writes nothing when the text had nothing to say (punctuation only).
_SETUP = """
(defvar ikar_waves nil)
(define (ikar_collect utt) (set! ikar_waves (cons (utt.wave utt) ikar_waves)) utt)
(define (ikar_say infile outfile)
  (set! ikar_waves nil)
  (set! tts_hooks (list utt.synth ikar_collect))
  (tts_file infile nil)
  (if ikar_waves
    (let ((waves (reverse ikar_waves)))
      (let ((whole (car waves)) (rest (cdr waves)))
        (while rest (wave.append whole (car rest)) (set! rest (cdr rest)))
        (wave.save whole outfile 'riff)))))
"""


# festival's Russian voice drops a whole sentence (silently, "LTS_Ruleset: no rule matches")
# on any token it cannot spell: an em dash, «quotes», an ellipsis character, an emoji, "7:30",
# "50%", a lone comma. So text is reduced to what it reads: letters, digits, and the ASCII
# punctuation it uses for phrasing, attached to a word.
_WORDS = {
    "ru": {"%": " процентов ", "№": " номер ", "&": " и ", "+": " плюс ", "=": " равно "},
    "en": {"%": " percent ", "№": " number ", "&": " and ", "+": " plus ", "=": " equals "},
}
_PUNCT = str.maketrans(
    {
        "«": '"', "»": '"', "„": '"', "“": '"', "”": '"', "‟": '"',
        "‘": "'", "’": "'", "…": "...", "—": ",", "–": ",", "‒": ",", "―": ",",
        "‐": "-", "‑": "-",
    }
)  # fmt: skip
_ALLOWED_PUNCT = set(".,!?:;()\"'-")
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[.:,/](?=\d)")
_SPACE_BEFORE = re.compile(r"\s+([.,!?:;)])")
_LONE_PUNCT = re.compile(r"(?:(?<=\s)|^)[^\w\s]+(?=\s|$)")
_CLAUSE_RUNS = re.compile(r"([,;:])(?:\s*[,;:])+")  # ", ," -> ","
_CLAUSE_BEFORE_END = re.compile(r"[,;:]\s*(?=[.!?])")  # ", ." -> "."


def festival_text(text: str, language: str | None) -> str:
    """`text` reduced to what festival can read (see above); "" when nothing is left."""
    words = _WORDS.get(language or "", _WORDS["en"])
    text = _BETWEEN_DIGITS.sub(" ", text.translate(_PUNCT))
    out = []
    for char in text:
        if char.isalnum() or char.isspace() or char in _ALLOWED_PUNCT:
            out.append(char)
        else:
            out.append(words.get(char, " "))
    text = _SPACE_BEFORE.sub(r"\1", "".join(out))
    text = _LONE_PUNCT.sub(" ", text)
    text = _CLAUSE_BEFORE_END.sub("", _CLAUSE_RUNS.sub(r"\1", text))
    text = " ".join(text.split()).strip(" ,;:-")
    return text if any(c.isalnum() for c in text) else ""


def bare_words(text: str) -> str:
    """Letters and digits only: the last resort when festival still refused a sentence."""
    return " ".join(re.sub(r"[^\w]|_", " ", text).split())


class _FestivalDied(EngineUnavailableError):
    """festival exited or closed its pipe before answering (killed, crashed)."""


def missing_festival_error(detail: str) -> EngineUnavailableError:
    """The error for a machine without festival or its Russian voice, with the apt line."""
    return EngineUnavailableError(
        f"Russian speech is unavailable: {detail}; install it with `{APT_LINE}` "
        "(or run scripts/install.sh as root)",
        key="media.festival_missing",
        detail=detail,
        apt=APT_LINE,
    )


class FestivalProcess:
    """One `festival --pipe` child with one voice loaded; `say()` calls are serialised.

    Each command is followed by a numbered marker that festival prints to stderr (stdout is
    block-buffered in a pipe, stderr is not); everything festival prints before the marker
    belongs to that command, so a `SIOD ERROR` is reported for the sentence that caused it.
    """

    def __init__(self, binary: str, voice: str, *, timeout_s: float) -> None:
        if not _VOICE_NAME.match(voice):
            raise EngineUnavailableError(f"invalid festival voice name {voice[:80]!r}")
        self.binary = binary
        self.voice = voice
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._markers = itertools.count(1)
        self._workdir = Path(tempfile.mkdtemp(prefix="ikar-festival-"))  # mode 0700
        if any(c in str(self._workdir) for c in '"\\'):  # it goes into a Scheme string
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise EngineUnavailableError(f"unusable temporary folder {self._workdir}")

    def start(self) -> None:
        """Start festival and load the voice (blocking, ~0.6 s)."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        self._stop()
        self._lines = queue.Queue()
        try:
            proc = subprocess.Popen(
                [self.binary, "--pipe"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd=self._workdir,
                start_new_session=True,  # a Ctrl-C in the terminal is the app's, not festival's
            )
        except OSError as exc:
            raise missing_festival_error(f"cannot run {self.binary}: {exc}") from exc
        self._proc = proc
        threading.Thread(
            target=self._read_stderr, args=(proc, self._lines), daemon=True, name="festival-err"
        ).start()
        self._command(f"{_SETUP}\n(voice_{self.voice})", timeout_s=max(_START_S, self.timeout_s))

    @staticmethod
    def _read_stderr(proc: subprocess.Popen[bytes], lines: queue.Queue[str | None]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        lines.put(None)

    def _command(self, scheme: str, *, timeout_s: float) -> list[str]:
        """Send `scheme` and wait for its marker; raise on a festival error or a hang.

        Returns the other lines festival printed meanwhile (warnings such as a word it could
        not spell, after which it drops the sentence).
        """
        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise EngineUnavailableError("festival is not running")
        marker = f"IKAR-DONE-{next(self._markers)}"
        try:
            proc.stdin.write(f'{scheme}\n(format stderr "{marker}\\n")\n'.encode())
            proc.stdin.flush()
        except OSError as exc:
            self._stop()
            raise _FestivalDied(f"festival stopped unexpectedly: {exc}") from exc
        deadline = time.monotonic() + timeout_s
        errors: list[str] = []
        notes: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._stop()
                raise EngineUnavailableError(
                    f"festival did not answer within {timeout_s:.0f} s and was restarted",
                    key="media.festival_timeout",
                    seconds=round(timeout_s),
                ) from None
            if line is None:
                code = proc.wait()
                self._stop()
                detail = "; ".join(errors) or f"exit code {code}"
                raise _FestivalDied(f"festival stopped unexpectedly ({detail})")
            if line == marker:
                break
            if "SIOD ERROR" in line:
                errors.append(line.strip()[:300])
            elif line.strip():
                notes.append(line.strip()[:300])
        if errors:
            raise EngineUnavailableError(f"festival failed: {'; '.join(errors)}")
        return notes

    def say(self, text: str) -> tuple[bytes, int, list[str]]:
        """(16-bit mono PCM, sample rate, festival's warnings) of `text`.

        The PCM is b"" when festival said nothing (its warnings say why). A festival that
        died since the last call (killed, crashed) is started again once.
        """
        with self._lock:
            inp, out = self._workdir / "in.txt", self._workdir / "out.wav"
            inp.write_text(text + "\n", encoding="utf-8")
            out.unlink(missing_ok=True)
            command = f'(ikar_say "{inp}" "{out}")'
            if self._proc is None or self._proc.poll() is not None:
                log.info("starting festival for %s", self.voice)
                self._start()
            try:
                notes = self._command(command, timeout_s=self.timeout_s)
            except _FestivalDied:  # died since the last call (it may not be reaped yet): once more
                log.warning("festival for %s died; starting it again", self.voice)
                self._start()
                notes = self._command(command, timeout_s=self.timeout_s)
            if not out.exists():
                return b"", 16_000, notes
            data = out.read_bytes()
            out.unlink(missing_ok=True)
        pcm, rate = _pcm16_mono(data)
        return pcm, rate, notes

    def close(self) -> None:
        with self._lock:
            self._stop()
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5)


def _pcm16_mono(data: bytes) -> tuple[bytes, int]:
    """PCM and rate of festival's RIFF output (16-bit; mono by construction, checked)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise EngineUnavailableError("festival wrote audio in an unexpected format")
            return wav.readframes(wav.getnframes()), wav.getframerate()
    except (wave.Error, EOFError) as exc:
        raise EngineUnavailableError(f"festival wrote unreadable audio: {exc}") from exc


class FestivalEngine(StreamedSynthesis):
    """festival voices, each loaded lazily into its own long-lived festival process."""

    name = "festival"

    def __init__(self, config: TTSConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._models: dict[str, LazyModel[FestivalProcess]] = {}
        self._stamps: dict[tuple[str, int], str] = {}

    # -- installation --------------------------------------------------------------------

    def binary(self) -> str | None:
        """The festival program's path, or None when it is not installed."""
        return shutil.which(self.config.festival_binary)

    def missing(self) -> str | None:
        """Why festival cannot speak here (no program, no voice), or None when it can."""
        if self.binary() is None:
            return f"the `{self.config.festival_binary}` program is not installed"
        if not self._voice_dirs():
            return f"no festival voice is installed in {self.config.festival_voices_dir}"
        return None

    def _voice_dirs(self) -> list[tuple[str, Path]]:
        root = self.config.festival_voices_dir
        found: list[tuple[str, Path]] = []
        try:
            languages = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            return []
        for lang_dir in languages:
            try:
                voices = sorted(p for p in lang_dir.iterdir() if p.is_dir())
            except OSError:
                continue
            found.extend(
                (lang_dir.name, voice) for voice in voices if _VOICE_NAME.match(voice.name)
            )
        return found

    # -- voices --------------------------------------------------------------------------

    def voices(self) -> list[VoiceInfo]:
        """Every installed festival voice (none when the program itself is missing)."""
        if self.binary() is None:
            return []
        return [
            VoiceInfo(
                id=ID_PREFIX + folder.name,
                engine=self.name,
                language=_LANGUAGES.get(language),
                sample_rate=_sample_rate(folder),
                bundled=True,
                path=str(folder),
            )
            for language, folder in self._voice_dirs()
        ]

    def resolve_voice(self, voice: str | None, language: str | None = None) -> VoiceInfo:
        """The asked voice; else the configured default or the first voice of `language`."""
        problem = self.missing()
        if problem is not None:
            raise missing_festival_error(problem)
        available = {v.id: v for v in self.voices()}
        if voice:
            if voice not in available:
                raise unknown_voice(voice, available)
            return available[voice]
        default = available.get(self.config.default_voice or "")
        if default is not None and (language is None or voices_of_language([default], language)):
            return default
        same = voices_of_language(list(available.values()), language)
        return same[0] if same else default or next(iter(available.values()))

    # -- synthesis -----------------------------------------------------------------------

    def stream(
        self,
        text: str,
        voice: str | None = None,
        cancel: threading.Event | None = None,
        *,
        language: str | None = None,
    ) -> Iterator[SpeechChunk]:
        """Yield one chunk per sentence (long ones cut) as soon as festival has made it."""
        text = checked_speech_text(text, self.config.max_chars)
        info = self.resolve_voice(voice, language)
        index = 0
        with self._model(info).use() as process:
            for sentence in split_sentences(text, self.config.max_sentence_chars):
                if cancel is not None and cancel.is_set():
                    raise JobCancelledError("speech synthesis was cancelled")
                pcm, rate = self._say(process, sentence, info.language)
                if not pcm:
                    continue
                if self.config.sentence_silence_s:
                    pcm += bytes(2 * int(self.config.sentence_silence_s * rate))
                yield SpeechChunk(index=index, pcm=pcm, sample_rate=rate)
                index += 1

    @staticmethod
    def _say(process: FestivalProcess, sentence: str, language: str | None) -> tuple[bytes, int]:
        """One sentence; if festival drops it over a word it cannot spell, letters only."""
        text = festival_text(sentence, normalize_language(language))
        if not text:
            return b"", 16_000
        pcm, rate, notes = process.say(text)
        if not pcm and notes and (fallback := bare_words(text)) and fallback != text:
            log.info("festival refused %r (%s); retrying with bare words", text[:80], notes[0])
            pcm, rate, notes = process.say(fallback)
        if not pcm and notes:
            log.warning("festival could not say %r: %s", text[:80], notes[0])
        return pcm, rate

    def cache_inputs(
        self, text: str, voice: str | None, *, language: str | None = None
    ) -> dict[str, Any]:
        """Every input that changes the audio: text, the voice's definition files, settings."""
        info = self.resolve_voice(voice, language)
        return {
            "engine": self.name,
            "voice": info.id,
            "voice_stamp": self._stamp(Path(info.path)),
            "sentence_silence_s": self.config.sentence_silence_s,
            "max_sentence_chars": self.config.max_sentence_chars,
            "text": checked_speech_text(text, self.config.max_chars),
        }

    def _stamp(self, folder: Path) -> str:
        """sha256 over the voice's Scheme definitions (small files; an upgrade changes them)."""
        scheme_dir = folder / "festvox"
        try:
            files = sorted(scheme_dir.glob("*.scm"))
            key = (str(folder), max((f.stat().st_mtime_ns for f in files), default=0))
        except OSError:
            return "unknown"
        with self._lock:
            cached = self._stamps.get(key)
        if cached is None:
            h = hashlib.sha256()
            for file in files:
                h.update(file.name.encode() + b"\0" + file.read_bytes())
            cached = h.hexdigest()
            with self._lock:
                self._stamps[key] = cached
        return cached

    # -- processes -----------------------------------------------------------------------

    def _model(self, info: VoiceInfo) -> LazyModel[FestivalProcess]:
        with self._lock:
            lazy = self._models.get(info.id)
            if lazy is None:
                lazy = LazyModel(
                    f"festival:{info.id}",
                    lambda: self._start(info),
                    idle_unload_s=self.config.idle_unload_s,
                    closer=FestivalProcess.close,
                )
                self._models[info.id] = lazy
            return lazy

    def _start(self, info: VoiceInfo) -> FestivalProcess:
        binary = self.binary()
        if binary is None:
            raise missing_festival_error(f"the `{self.config.festival_binary}` program is missing")
        process = FestivalProcess(
            binary, info.id.removeprefix(ID_PREFIX), timeout_s=self.config.festival_timeout_s
        )
        try:
            process.start()
        except MediaError:
            process.close()
            raise
        return process

    def status(self) -> EngineStatus:
        """Missing program or voice: failed, saying what to install; else the voices' states."""
        problem = self.missing()
        if problem is not None:
            return EngineStatus(
                name="tts",
                engine=self.name,
                state="failed",
                detail=str(missing_festival_error(problem)),
            )
        with self._lock:
            models = list(self._models.items())
        states = {voice_id: lazy.status(self.name, voice_id) for voice_id, lazy in models}
        for state in ("loading", "ready", "failed"):
            hits = [s for s in states.values() if s.state == state]
            if hits:
                loaded = sorted(v for v, s in states.items() if s.state == "ready")
                detail = hits[0].detail or (f"loaded: {', '.join(loaded)}" if loaded else None)
                return hits[0].model_copy(update={"name": "tts", "detail": detail})
        voices = self.voices()
        return EngineStatus(
            name="tts",
            engine=self.name,
            model=voices[0].id if voices else None,
            state="unloaded",
            idle_unload_s=self.config.idle_unload_s,
        )

    def unload(self) -> None:
        with self._lock:
            models = list(self._models.values())
        for lazy in models:
            lazy.unload()


def _sample_rate(folder: Path) -> int:
    """The rate of the voice's recordings (clunits voices speak at it); 16 kHz if unknown."""
    try:
        with os.scandir(folder / "wav") as entries:
            for entry in entries:
                if entry.name.endswith(".wav"):
                    with wave.open(entry.path, "rb") as wav:
                        return int(wav.getframerate())
    except (OSError, wave.Error, EOFError):
        pass
    return 16_000
