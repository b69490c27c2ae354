"""A remote profile whose api_key_env is unset is reported at start, not at the first chat."""

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.services.models import ModelManager
from models.errors import ModelUnavailableError
from models.openai_compat_backend import OpenAICompatBackend
from models.profiles import ModelProfile, unset_api_keys
from models.types import ChatMessage

REPO = Path(__file__).resolve().parents[2]
VAR = "IKAR_TEST_REMOTE_KEY"


class _Counting(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Counting.hits = 0
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _remote(url: str = "http://10.9.9.9:8080/v1", **kw: object) -> ModelProfile:
    return ModelProfile(name="remote", source="openai", url=url, api_key_env=VAR, **kw)  # type: ignore[arg-type]


def test_unset_key_is_named_without_network() -> None:
    local = ModelProfile(name="local", source="openai", url="http://127.0.0.1:1/v1")
    profiles = {"remote": _remote(), "local": local}
    (line,) = unset_api_keys(profiles, environ={})
    assert "'remote'" in line and f"${VAR}" in line and "not set" in line
    assert unset_api_keys(profiles, environ={VAR: ""}) == [line]  # empty counts as unset
    assert unset_api_keys(profiles, environ={VAR: "sk-123"}) == []


def test_health_shows_it_before_any_chat(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server_url: str
) -> None:
    monkeypatch.delenv(VAR, raising=False)
    manager = ModelManager({"remote": _remote(server_url)}, "remote", tmp_path)
    status = manager.status()  # what /health reads; nothing was loaded or sent
    assert status.state == "failed"
    assert status.detail is not None and VAR in status.detail
    backend = manager.backend()
    with pytest.raises(ModelUnavailableError, match=VAR):
        backend.load()
    with pytest.raises(ModelUnavailableError, match=VAR):
        list(backend.stream([ChatMessage(role="user", content="hi")]))
    assert _Counting.hits == 0  # the server never saw a keyless request


def test_set_key_loads_normally(monkeypatch: pytest.MonkeyPatch, server_url: str) -> None:
    monkeypatch.setenv(VAR, "sk-test")
    backend = OpenAICompatBackend(_remote(server_url))
    assert backend.status().state == "unloaded"
    backend.load()
    assert backend.status().state == "ready" and _Counting.hits == 1


def test_launch_warns_at_start(tmp_path: Path) -> None:
    profiles = tmp_path / "models.toml"
    profiles.write_text(
        (REPO / "config" / "models.toml").read_text(encoding="utf-8")
        + '\n[models."paid"]\nsource = "openai"\nurl = "https://api.example.com/v1"\n'
        f'api_key_env = "{VAR}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IKAR_") and k != VAR}
    env.update(IKAR_DATA_DIR=str(tmp_path / "data"), IKAR_MODEL_PROFILES_FILE=str(profiles))
    with socket.socket() as busy:  # a busy port stops launch.py right after the start checks
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        proc = subprocess.run(
            [sys.executable, "launch.py", "--port", port],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2 and "busy" in proc.stderr
    expected = "warning: model profile 'paid' (https://api.example.com/v1) reads its API key"
    assert expected in proc.stderr and f"${VAR}" in proc.stderr
    assert "Traceback" not in proc.stderr
