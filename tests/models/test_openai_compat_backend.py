"""The OpenAI-compatible backend against a real `python -m llama_cpp.server`."""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from models.errors import LLMTimeoutError, ModelUnavailableError
from models.openai_compat_backend import OpenAICompatBackend
from models.packaged import resolve_packaged
from models.profiles import ModelProfile
from models.types import ChatMessage, SamplingParams
from tests.conftest import free_port

MESSAGES = [ChatMessage(role="user", content="Say hello.")]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = resolve_packaged("smollm2-135m", tmp_path_factory.mktemp("m"))
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--n_threads",
            "2",
            "--model_alias",
            "tiny",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("llama_cpp.server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _profile(url: str, **kw: object) -> ModelProfile:
    base: dict[str, object] = {
        "name": "remote",
        "source": "openai",
        "url": url,
        "api_model": "tiny",
        "n_ctx": 1024,
        "max_tokens": 32,
        "timeout_s": 60,
        "retries": 2,
    }
    base.update(kw)
    return ModelProfile(**base)  # type: ignore[arg-type]


def test_streams_from_a_real_llama_cpp_server(llama_server: str) -> None:
    backend = OpenAICompatBackend(_profile(llama_server))
    backend.load()
    assert backend.status().state == "ready"
    chunks = list(backend.stream(MESSAGES, SamplingParams(temperature=0.0)))
    assert "".join(c.text for c in chunks).strip()
    assert chunks[-1].done and chunks[-1].usage is not None
    assert 0 < chunks[-1].usage.completion_tokens <= 32


class _FlakyHandler(BaseHTTPRequestHandler):
    """Fails the first N requests with 503, then streams a fixed reply."""

    failures_left = 0
    delay_s = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        time.sleep(type(self).delay_s)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in ("Hi", " there"):
            event = {"choices": [{"delta": {"content": word}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky_server() -> Iterator[tuple[str, type[_FlakyHandler]]]:
    handler = type("H", (_FlakyHandler,), {"failures_left": 0, "delay_s": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()


def test_retries_with_backoff_then_succeeds(flaky_server: tuple[str, type[_FlakyHandler]]) -> None:
    url, handler = flaky_server
    handler.failures_left = 2
    backend = OpenAICompatBackend(_profile(url, retries=2), backoff_s=0.01)
    text = "".join(c.text for c in backend.stream(MESSAGES))
    assert text == "Hi there"
    assert backend.retries_done == 2


def test_gives_up_after_retries(flaky_server: tuple[str, type[_FlakyHandler]]) -> None:
    url, handler = flaky_server
    handler.failures_left = 5
    backend = OpenAICompatBackend(_profile(url, retries=1), backoff_s=0.01)
    with pytest.raises(ModelUnavailableError, match="503"):
        list(backend.stream(MESSAGES))
    assert backend.status().state == "failed"


def test_timeout_is_enforced(flaky_server: tuple[str, type[_FlakyHandler]]) -> None:
    url, handler = flaky_server
    handler.delay_s = 2.0
    backend = OpenAICompatBackend(_profile(url, timeout_s=0.3, retries=0), backoff_s=0.01)
    with pytest.raises(LLMTimeoutError):
        list(backend.stream(MESSAGES))


def test_unreachable_server_fails_clearly(tmp_path: Path) -> None:
    backend = OpenAICompatBackend(_profile(f"http://127.0.0.1:{free_port()}/v1", retries=0))
    with pytest.raises(ModelUnavailableError, match="unreachable"):
        backend.load()


class _StrictHandler(BaseHTTPRequestHandler):
    """Like the OpenAI API: unknown request fields are a 400. Reports cached prompt tokens."""

    bodies: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        type(self).bodies.append(body)
        if "cache_prompt" in body:
            payload = (
                b'{"error": {"message": "Unrecognized request argument supplied: cache_prompt"}}'
            )
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        event = {"choices": [{"delta": {"content": "Hi"}, "finish_reason": "stop"}]}
        usage = {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 7}}
        for data in (event, {"choices": [], "usage": usage}):
            self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


def test_cache_hint_dropped_when_the_server_rejects_it() -> None:
    handler = type("S", (_StrictHandler,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        backend = OpenAICompatBackend(_profile(url, retries=0), backoff_s=0.01)
        chunks = list(backend.stream(MESSAGES))
        assert "".join(c.text for c in chunks) == "Hi"
        assert backend.cache_hints is False and backend.retries_done == 0
        usage = chunks[-1].usage
        assert usage is not None and usage.prompt_tokens == 10 and usage.cached_tokens == 7
        list(backend.stream(MESSAGES))
        assert ["cache_prompt" in b for b in handler.bodies] == [True, False, False]
        off = OpenAICompatBackend(_profile(url, cache_hints="off"))
        list(off.stream(MESSAGES))
        assert "cache_prompt" not in handler.bodies[-1]
    finally:
        server.shutdown()


def test_cache_hint_reaches_a_real_llama_cpp_server(llama_server: str) -> None:
    """llama_cpp.server ignores the field (llama-server uses it): the request still works."""
    backend = OpenAICompatBackend(_profile(llama_server))
    text = "".join(c.text for c in backend.stream(MESSAGES, SamplingParams(temperature=0.0)))
    assert text.strip() and backend.cache_hints is True
