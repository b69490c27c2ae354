"""launch.py: clear one-line errors for bad config and busy ports; a real start on a port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IKAR_")}
    env.update(
        {
            "IKAR_DATA_DIR": str(tmp_path / "data"),
            "IKAR_DEFAULT_MODEL": "smollm2-135m",
            "IKAR_LLM_THREADS": "2",
        }
    )
    env.update(extra)
    return env


def test_bad_setting_is_named_on_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "launch.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=_env(tmp_path, IKAR_PORT="seventy"),
        timeout=60,
    )
    assert proc.returncode == 2
    assert "IKAR_PORT" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_default_model_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "launch.py", "--port", str(free_port())],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=_env(tmp_path, IKAR_DEFAULT_MODEL="nope"),
        timeout=120,
    )
    assert proc.returncode == 2
    assert "nope" in proc.stderr and "Traceback" not in proc.stderr


def test_busy_port_is_reported(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "launch.py", "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            timeout=60,
        )
    assert proc.returncode == 2
    assert "busy" in proc.stderr


def test_launch_serves_health_and_prints_the_url(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "launch.py", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(tmp_path),
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert status == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://localhost:{port}" in out
