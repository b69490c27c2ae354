"""`python -m models.packaged NAME DIR`: the path docker-compose's model-server serves."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "models.packaged", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_prints_the_gguf_path(tmp_path: Path) -> None:
    proc = _run("smollm2-135m", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip())
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert path.read_bytes()[:4] == b"GGUF"


def test_unknown_model_and_bad_usage_are_one_line_errors(tmp_path: Path) -> None:
    proc = _run("nope", str(tmp_path))
    assert proc.returncode == 1 and "unknown packaged model 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _run().returncode == 2
