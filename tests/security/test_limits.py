import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.api.errors import install_error_handlers
from app.security.errors import RateLimitedError
from app.security.limits import BodySizeLimitMiddleware, RateLimiter, rate_limited


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_burst_then_refuses_with_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2, per_s=1, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimitedError) as info:
        limiter.check("a")
    assert info.value.retry_after == pytest.approx(0.5)
    limiter.check("b")  # keys are independent
    clock.now += 0.5
    limiter.check("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")
    clock.now += 100  # refills only up to the burst
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")


def test_rate_limiter_slow_rates() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=5, per_s=60, burst=1, clock=clock)
    limiter.check("k")
    with pytest.raises(RateLimitedError) as info:
        limiter.check("k")
    assert info.value.retry_after == pytest.approx(12)
    assert info.value.retry_after_header == "12"


def test_rate_limiter_is_thread_safe() -> None:
    limiter = RateLimiter(rate=1, per_s=3600, burst=100, clock=lambda: 0.0)
    allowed = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal allowed
        for _ in range(50):
            try:
                limiter.check("shared")
            except RateLimitedError:
                continue
            with lock:
                allowed += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed == 100


def test_rate_limiter_memory_is_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, per_s=1, burst=1, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.check(f"client-{i}")
        clock.now += 0.01
    assert len(limiter._buckets) <= 100


def test_rate_limited_dependency_returns_429() -> None:
    app = FastAPI()
    install_error_handlers(app)
    limiter = RateLimiter(rate=1, per_s=60, burst=2)

    @app.post("/chat", dependencies=[Depends(rate_limited(limiter))])
    def chat() -> dict[str, bool]:
        return {"ok": True}

    client = TestClient(app)
    assert client.post("/chat").status_code == 200
    assert client.post("/chat").status_code == 200
    response = client.post("/chat")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


class Note(BaseModel):
    text: str


def limited_app(max_bytes: int = 100) -> FastAPI:
    app = FastAPI()

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    @app.post("/note")
    def note(body: Note) -> dict[str, int]:
        return {"len": len(body.text)}

    @app.post("/upload/big")
    async def big(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=max_bytes, path_limits=[("/upload", 1000)]
    )
    return app


def test_small_bodies_pass() -> None:
    client = TestClient(limited_app())
    assert client.post("/raw", content=b"x" * 100).json() == {"size": 100}
    assert client.post("/note", json={"text": "hi"}).json() == {"len": 2}


def test_content_length_over_limit_is_413_json_without_calling_app() -> None:
    client = TestClient(limited_app())
    response = client.post("/raw", content=b"x" * 101)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    response = client.post("/note", json={"text": "y" * 200})
    assert response.status_code == 413


def test_path_limits_override_default() -> None:
    client = TestClient(limited_app())
    assert client.post("/upload/big", content=b"x" * 900).json() == {"size": 900}
    assert client.post("/upload/big", content=b"x" * 1001).status_code == 413


def test_bad_content_length_is_400() -> None:
    app = limited_app()

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            request = client.build_request("POST", "/raw", content=b"abc")
            request.headers["content-length"] = "-5"
            return await client.send(request)

    import asyncio

    assert asyncio.run(call()).status_code == 400


def chunks(total: int, size: int = 16) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"z" * n


@pytest.mark.parametrize("path", ["/raw", "/note"])
def test_chunked_body_over_limit_is_413(path: str) -> None:
    client = TestClient(limited_app())
    response = client.post(path, content=chunks(500), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_chunked_body_under_limit_passes() -> None:
    client = TestClient(limited_app())
    response = client.post("/raw", content=chunks(90))
    assert response.status_code == 200
    assert response.json() == {"size": 90}


def test_chunked_body_counting_stops_reading_early() -> None:
    """Driven at the ASGI level: the middleware stops pulling chunks once past the limit."""
    import asyncio

    pulled = 0
    sent: list[dict] = []  # type: ignore[type-arg]

    async def receive() -> dict:  # type: ignore[type-arg]
        nonlocal pulled
        pulled += 10
        return {"type": "http.request", "body": b"z" * 10, "more_body": pulled < 100_000}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/raw",
        "raw_path": b"/raw",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"t"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    asyncio.run(limited_app()(scope, receive, send))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 413
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]
    assert pulled <= 110


def test_websocket_and_lifespan_pass_through() -> None:
    app = limited_app()

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("hello")
        await socket.close()

    with TestClient(app) as client, client.websocket_connect("/ws") as socket:
        assert socket.receive_text() == "hello"
