"""IKAR started the way a user starts it (`python launch.py`), in a child process.

For checks that depend on the real launcher: how uvicorn is configured (proxy headers),
what survives a restart (the UI session secret), a restart right after a kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def launch_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a test launch: its own data folder, the tiny model, no preload."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IKAR_")}
    env.update(
        {
            "IKAR_DATA_DIR": str(data_dir),
            "IKAR_DEFAULT_MODEL": "smollm2-135m",
            "IKAR_LLM_THREADS": "2",
            "IKAR_LLM_PRELOAD": "false",
            "IKAR_INNER_LIFE": "false",
            "IKAR_LANGUAGE": "en",
        }
    )
    env.update(extra)
    return env


class Launched:
    """`python launch.py --port PORT` with `env`; `stop()` ends it, `kill()` crashes it."""

    def __init__(self, port: int, env: dict[str, str], *args: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "launch.py", "--port", str(port), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.output = ""

    def wait_ready(self, timeout: float = 120.0) -> Launched:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.output = self.proc.communicate()[0]
                raise RuntimeError(f"launch.py exited {self.proc.returncode}:\n{self.output}")
            try:
                if httpx.get(self.url + "/health/live", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"launch.py did not answer within {timeout:.0f} s:\n{self.output}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.output = self.proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """End it the way a crash does: SIGKILL, no clean shutdown."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.output = self.proc.communicate(timeout=30)[0]

    def __enter__(self) -> Launched:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()
