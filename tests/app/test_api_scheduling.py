"""The REST side of scheduling (issue 12 item 4, issue 10 item 9): a full line answers 503
with Retry-After, a client that disconnects cancels its turn (JSON and SSE, generating or
waiting) and nothing it sent is lost, /health and SQLite reads stay fast under 20 concurrent
chats. The scripted backend gives the timing; the real model's chat path is tested in
tests/app/test_api_chat.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import httpx
import pytest

from app.composition import Services
from app.factory import create_app
from config.settings import Settings
from tests.app.fakes import services_with
from tests.app.test_scheduling import CountingBackend


def _app(services: Services) -> Any:
    return create_app(services.settings, services)


async def _post_then_leave(
    app: Any, body: dict[str, Any], leave_after_s: float, says_so: bool = True
) -> list[dict]:
    """POST /api/chat as a raw ASGI client that goes away after `leave_after_s`. With
    `says_so=False` the server never receives `http.disconnect`: only a failed write tells
    (what a dropped connection looks like behind some proxies)."""
    loop = asyncio.get_running_loop()
    leave_at = loop.time() + leave_after_s
    raw = json.dumps(body).encode()
    sent: list[dict] = []
    body_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        if not says_so:
            await asyncio.Event().wait()  # never
        if loop.time() < leave_at:
            await asyncio.sleep(leave_at - loop.time())
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if loop.time() >= leave_at and message["type"] == "http.response.body":
            raise OSError("client gone")
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/chat",
        "raw_path": b"/api/chat",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    with contextlib.suppress(OSError):  # our send refused the answer: the client left
        await app(scope, receive, send)
    return sent


def _user_messages(services: Services, user: str) -> list[str]:
    convs = services.chat.conversations.list(user)
    return [
        m.content
        for conv in convs
        for m in services.chat.messages.list(user, conv.id)
        if m.role == "user"
    ]


def test_full_line_answers_503_with_retry_after(make_settings: Any) -> None:
    services = services_with(make_settings(chat_queue_max=0), CountingBackend())
    app = _app(services)

    async def scenario() -> httpx.Response:
        holder = services.chat.scheduler.enter("scripted")
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.post("/api/chat", json={"message": "hi", "user_id": "amy"})
        finally:
            services.chat.scheduler.leave(holder)

    response = asyncio.run(scenario())
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["error"] == "queue_full"
    assert "busy" in body["messages"]["en"] and "занята" in body["messages"]["ru"]
    assert _user_messages(services, "amy") == []  # refused: nothing was acknowledged
    services.close()


@pytest.mark.parametrize(
    ("stream", "says_so"),
    [(False, True), (True, True), (True, False)],
    ids=["json", "stream", "stream-write-fails"],
)
def test_a_client_that_leaves_stops_its_generation(
    settings: Settings, stream: bool, says_so: bool
) -> None:
    # 4000 tokens at 10 ms take at least 40 s: a cancelled turn stops long before that,
    # however slow the machine is (a 3 s bound on 400 tokens once failed on a busy CI box).
    backend = CountingBackend(words=[f" w{i}" for i in range(4000)], delay_s=0.01)
    services = services_with(settings, backend)
    app = _app(services)

    async def scenario() -> float:
        started = time.perf_counter()
        body = {"message": "Tell me a long story", "user_id": "ben", "stream": stream}
        await asyncio.wait_for(_post_then_leave(app, body, 0.4, says_so), 20)
        # The relay thread notices the cancel between tokens.
        for _ in range(1000):
            if backend.active == 0 and services.chat.scheduler.idle("scripted"):
                break
            await asyncio.sleep(0.02)
        return time.perf_counter() - started

    took = asyncio.run(scenario())
    assert took < 20.0  # the whole reply would have taken over 40 s
    assert backend.cancelled == 1 and backend.active == 0
    assert backend.yielded < 2000  # stopped mid-reply, not at the end
    assert services.chat.scheduler.idle("scripted")
    assert _user_messages(services, "ben") == ["Tell me a long story"]
    services.close()


def test_a_client_that_leaves_while_waiting_leaves_the_line(settings: Settings) -> None:
    backend = CountingBackend()
    services = services_with(settings, backend)
    app = _app(services)

    async def scenario() -> float:
        holder = services.chat.scheduler.enter("scripted")
        try:
            started = time.perf_counter()
            body = {"message": "Still there?", "user_id": "cy"}
            await asyncio.wait_for(_post_then_leave(app, body, 0.3), 10)
            took = time.perf_counter() - started
            assert [q.waiting for q in services.chat.scheduler.stats()] == [0]
            return took
        finally:
            services.chat.scheduler.leave(holder)

    took = asyncio.run(scenario())
    assert took < 5.0  # left at 0.3 s; had it stayed in line it would wait for ever
    assert backend.prompts == []  # it never reached the model
    assert _user_messages(services, "cy") == ["Still there?"]
    services.close()


def test_health_and_sqlite_stay_fast_under_20_concurrent_chats(make_settings: Any) -> None:
    backend = CountingBackend(words=[f" w{i}" for i in range(20)], delay_s=0.05)
    services = services_with(make_settings(chat_queue_max=32), backend)
    app = _app(services)

    async def scenario() -> tuple[float, float, dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            chats = [
                asyncio.create_task(
                    client.post("/api/chat", json={"message": f"hi {i}", "user_id": f"u{i}"})
                )
                for i in range(20)
            ]
            await asyncio.sleep(0.5)  # every turn is in: one generates, the rest wait
            started = time.perf_counter()
            health = await client.get("/health")
            health_s = time.perf_counter() - started
            started = time.perf_counter()
            convs = await client.get("/api/conversations", params={"user_id": "u3"})
            sqlite_s = time.perf_counter() - started
            assert health.status_code == 200 and convs.status_code == 200
            for chat in chats:
                chat.cancel()
            await asyncio.gather(*chats, return_exceptions=True)
        return health_s, sqlite_s, health.json()

    health_s, sqlite_s, report = asyncio.run(scenario())
    assert health_s < 1.0 and sqlite_s < 1.0
    queue = report["components"]["llm"]["queue"]
    assert queue[0]["running"] == "turn" and queue[0]["waiting"] >= 15
    assert backend.most_at_once == 1
    services.close()
