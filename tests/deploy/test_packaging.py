"""pyproject.toml makes an installable package: data files, the `ikar` script, pinned extras."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = ("app", "config", "media", "memory", "models")


def _pins(name: str) -> set[str]:
    lines = (REPO / name).read_text(encoding="utf-8").splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.startswith(("#", "-r"))}


def test_build_backend_and_console_script() -> None:
    assert PYPROJECT["build-system"]["build-backend"] == "setuptools.build_meta"
    assert PYPROJECT["project"]["scripts"] == {"ikar": "app.cli:main"}
    found = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in found} == set(PACKAGES)


@pytest.mark.parametrize("extra", ["cpu", "gpu"])
def test_extras_repeat_the_requirements_pins(extra: str) -> None:
    assert set(PYPROJECT["project"]["optional-dependencies"][extra]) == _pins(
        f"requirements-{extra}.txt"
    )
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["dependencies"]["file"]
    assert dynamic == ["requirements-common.txt"]
    # setuptools reads that file as plain requirements: no pip options in it.
    common = (REPO / "requirements-common.txt").read_text(encoding="utf-8").splitlines()
    assert not [ln for ln in common if ln.strip().startswith("-")]


def test_launch_py_and_ikar_are_the_same_command() -> None:
    def usage(cmd: list[str]) -> str:
        out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.split("\n", 1)[1]  # drop "usage: <prog>"

    launch = usage([sys.executable, "launch.py", "--help"])
    cli = usage([sys.executable, "-c", "import sys; from app.cli import main; main(['--help'])"])
    assert launch == cli
    for flag in ("--host", "--port", "--share", "--config"):
        assert flag in launch


def test_wheel_holds_code_data_and_the_script(tmp_path: Path) -> None:
    """Build the wheel offline from a copy of the sources (the checkout stays clean)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements-common.txt"):
        shutil.copy(REPO / name, src / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("ikar-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "config").rglob("*")
        if p.is_file() and p.suffix in (".toml", ".json", ".j2")
    ]
    assert data and set(data) <= names, set(data) - names
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names
    assert "app/cli.py" in names and "app/locales/__init__.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    entry_points = zipfile.ZipFile(wheel).read("ikar-0.1.0.dist-info/entry_points.txt").decode()
    assert "ikar = app.cli:main" in entry_points
