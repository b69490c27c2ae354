"""tesseract (Debian `tesseract-ocr` + `tesseract-ocr-rus`): Russian and English text in images.

Why tesseract: no Cyrillic easyocr weights ship in any package we can install, while Debian's
tesseract with `rus+eng` reads clean Russian and English lines exactly in well under a second
(`rus` alone garbles English, so both are loaded). Why the program and not `pytesseract`:
pytesseract runs the same program through temporary files and cannot stop it; here the image
goes in on stdin, TSV comes back on stdout, a cancelled or overdue job kills the process,
and OpenMP is held to one thread (two threads on a busy 2-core machine were slower, and the
chat model needs the other core).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.config import OCRConfig
from media.errors import EngineUnavailableError, JobCancelledError, MediaInputError
from media.image_input import is_blank, load_image
from media.lazy import EngineStatus, LazyModel
from media.ocr.base import OCRLine, OCRResult

# tesseract language -> the Debian package holding its traineddata.
_PACKAGES = {"rus": "tesseract-ocr-rus", "eng": "tesseract-ocr-eng"}
_LIST_HEADER = re.compile(r"^List of available languages in \"?(.+?)/?\"? \(\d+\):$")


def apt_line(languages: str) -> str:
    """The one apt command installing tesseract and the traineddata of `languages`."""
    extra = [
        _PACKAGES.get(code, f"tesseract-ocr-{code.replace('_', '-')}")
        for code in languages.split("+")
    ]
    packages = " ".join(dict.fromkeys(["tesseract-ocr", *extra]))
    return f"sudo apt-get install --no-install-recommends {packages}"


@dataclass(frozen=True)
class TesseractSetup:
    """What a probe of the installed tesseract found (cheap; no model stays in memory)."""

    binary: str
    version: str
    tessdata: str
    stamps: tuple[tuple[str, int, int], ...]  # (language, size, mtime_ns) of each traineddata


class TesseractEngine:
    """tesseract as a child process per image, languages checked once and then trusted."""

    name = "tesseract"

    def __init__(self, config: OCRConfig) -> None:
        self.config = config
        self._lazy: LazyModel[TesseractSetup] = LazyModel(
            "ocr", self._probe, idle_unload_s=config.idle_unload_s
        )

    @property
    def languages(self) -> list[str]:
        return self.config.tesseract_languages.split("+")

    def _missing(self, detail: str) -> EngineUnavailableError:
        apt = apt_line(self.config.tesseract_languages)
        return EngineUnavailableError(
            f"text recognition is unavailable: {detail}; install it with `{apt}` "
            "(or run scripts/install.sh as root)",
            key="media.tesseract_missing",
            detail=detail,
            apt=apt,
        )

    def _probe(self) -> TesseractSetup:
        """Find the program and check every configured language is installed."""
        binary = shutil.which(self.config.tesseract_binary)
        if binary is None:
            raise self._missing(f"the `{self.config.tesseract_binary}` program is not installed")
        try:
            version = subprocess.run(
                [binary, "--version"], capture_output=True, timeout=30, check=False
            )
            listing = subprocess.run(
                [binary, "--list-langs"], capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise self._missing(f"cannot run {binary}: {exc}") from exc
        lines = listing.stdout.decode("utf-8", "replace").splitlines()
        header = _LIST_HEADER.match(lines[0].strip()) if lines else None
        installed = {line.strip() for line in lines[1:] if line.strip()}
        absent = [code for code in self.languages if code not in installed]
        if absent:
            packages = ", ".join(_PACKAGES.get(c, f"tesseract-ocr-{c}") for c in absent)
            raise self._missing(
                f"tesseract has no {'+'.join(absent)} language data ({packages} is missing)"
            )
        tessdata = header.group(1) if header else ""
        stamps = []
        for code in self.languages:
            try:
                stat = (Path(tessdata) / f"{code}.traineddata").stat()
                stamps.append((code, stat.st_size, stat.st_mtime_ns))
            except OSError:
                stamps.append((code, 0, 0))
        first = (version.stdout or version.stderr).decode("utf-8", "replace").splitlines()
        return TesseractSetup(binary, first[0] if first else "?", tessdata, tuple(stamps))

    def read(self, image: bytes, cancel: threading.Event | None = None) -> OCRResult:
        """Recognise text in an image upload (validated before decoding)."""
        picture: Any = load_image(
            image,
            max_bytes=self.config.max_bytes,
            max_pixels=self.config.max_pixels,
            max_side=self.config.max_side,
            max_read_pixels=self.config.max_read_pixels,
        )
        with self._lazy.use() as setup:  # a missing program is reported for any image
            if is_blank(picture):  # one flat colour: no text, no tesseract run
                return OCRResult(lines=[], text="")
            png = io.BytesIO()
            picture.convert("L").save(png, format="PNG", compress_level=1)
            tsv = self._run(setup, png.getvalue(), cancel)
        lines = parse_tsv(tsv)
        return OCRResult(lines=lines, text="\n".join(line.text for line in lines))

    def _run(self, setup: TesseractSetup, png: bytes, cancel: threading.Event | None) -> str:
        """tesseract on `png`; killed when cancelled or past the timeout."""
        command = [
            setup.binary,
            "stdin",
            "stdout",
            "-l",
            self.config.tesseract_languages,
            "--psm",
            str(self.config.tesseract_psm),
            "tsv",
        ]
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        result: dict[str, bytes] = {}

        def talk() -> None:
            out, err = proc.communicate(png)
            result["out"], result["err"] = out, err

        worker = threading.Thread(target=talk, daemon=True, name="tesseract-io")
        worker.start()
        deadline = time.monotonic() + self.config.timeout_s
        while worker.is_alive():
            worker.join(0.05)
            if cancel is not None and cancel.is_set():
                _kill(proc, worker)
                raise JobCancelledError("text recognition was cancelled")
            if time.monotonic() > deadline:
                _kill(proc, worker)
                raise EngineUnavailableError(
                    f"tesseract did not finish within {self.config.timeout_s:.0f} s",
                    key="media.ocr_timeout",
                    seconds=round(self.config.timeout_s),
                )
        if proc.returncode != 0:
            err = result.get("err", b"").decode("utf-8", "replace").strip()
            if "Error in pixReadMem" in err or "Image file" in err:
                raise MediaInputError("the image could not be read by tesseract")
            raise EngineUnavailableError(f"tesseract failed ({proc.returncode}): {err[-300:]}")
        return result.get("out", b"").decode("utf-8", "replace")

    def cache_inputs(self, image: bytes) -> dict[str, Any]:
        """The program's version, the language files, the settings and the image."""
        setup = self._lazy.load()
        return {
            "engine": self.name,
            "version": setup.version,
            "languages": self.config.tesseract_languages,
            "traineddata": [list(s) for s in setup.stamps],
            "psm": self.config.tesseract_psm,
            "max_side": self.config.max_side,
            "max_read_pixels": self.config.max_read_pixels,
            "image": image,
        }

    def status(self) -> EngineStatus:
        """Probed on every call until it succeeds, so a missing package shows in /health."""
        if self._lazy.state in ("unloaded", "failed"):
            # A failure and its reason become the lazy model's state, shown below.
            with contextlib.suppress(EngineUnavailableError):
                self._lazy.load()
        return self._lazy.status(self.name, self.config.tesseract_languages)

    def unload(self) -> None:
        self._lazy.unload()


def _kill(proc: subprocess.Popen[bytes], worker: threading.Thread) -> None:
    proc.kill()
    worker.join(5)


def parse_tsv(tsv: str) -> list[OCRLine]:
    """tesseract's TSV words grouped into its lines, in its reading order."""
    order: list[tuple[str, str, str]] = []
    words: dict[tuple[str, str, str], list[tuple[str, float, int, int, int, int]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
            left, top, width, height = (int(c) for c in cols[6:10])
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        key = (cols[2], cols[3], cols[4])  # block, paragraph, line
        if key not in words:
            order.append(key)
            words[key] = []
        words[key].append((text, conf, left, top, left + width, top + height))
    lines = []
    for key in order:
        items = words[key]
        x0 = min(w[2] for w in items)
        y0 = min(w[3] for w in items)
        x1 = max(w[4] for w in items)
        y1 = max(w[5] for w in items)
        conf = sum(w[1] for w in items) / len(items) / 100
        lines.append(
            OCRLine(
                text=" ".join(w[0] for w in items),
                confidence=round(min(1.0, max(0.0, conf)), 4),
                box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
            )
        )
    return lines
