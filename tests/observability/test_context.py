import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.observability.context import (
    current_request_id,
    new_request_id,
    request_id_scope,
    run_in_context,
    sanitize_request_id,
)
from app.observability.middleware import RequestIdMiddleware


@pytest.mark.parametrize("value", ["abc", "A-b_c.d:e@f+g=h", "x" * 128, new_request_id()])
def test_safe_request_ids_are_kept(value: str) -> None:
    assert sanitize_request_id(value) == value


@pytest.mark.parametrize(
    "value", [None, "", "x" * 129, "a b", "a\nb", "a\r\nX-Evil: 1", 'a"b', "a;b", "ид", "<script>"]
)
def test_unsafe_request_ids_are_replaced(value: str | None) -> None:
    assert sanitize_request_id(value) is None


def test_new_request_id_is_uuid_hex() -> None:
    rid = new_request_id()
    assert len(rid) == 32 and int(rid, 16) >= 0
    assert new_request_id() != rid


def test_request_id_scope_sets_and_restores() -> None:
    assert current_request_id() is None
    with request_id_scope("outer") as outer:
        assert outer == "outer" == current_request_id()
        with request_id_scope() as inner:
            assert current_request_id() == inner != "outer"
        assert current_request_id() == "outer"
    assert current_request_id() is None


def test_run_in_context_carries_id_into_executor_threads() -> None:
    with request_id_scope("job-7"), ThreadPoolExecutor(max_workers=2) as pool:
        bound = run_in_context(current_request_id)
        plain = pool.submit(current_request_id).result()
        results = [f.result() for f in [pool.submit(bound) for _ in range(4)]]
    assert plain is None
    assert results == ["job-7"] * 4


def test_run_in_context_changes_do_not_leak_back() -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("n", default=0)

    def bump() -> int:
        var.set(var.get() + 1)
        return var.get()

    bound = run_in_context(bump)
    assert bound() == 1
    assert bound() == 1  # each call gets a fresh copy
    assert var.get() == 0


def test_middleware_generates_or_keeps_ids() -> None:
    app = FastAPI()

    @app.get("/id")
    async def rid() -> dict[str, str | None]:
        return {
            "rid": current_request_id(),
            "to_thread": await asyncio.to_thread(current_request_id),
        }

    client = TestClient(RequestIdMiddleware(app))
    kept = client.get("/id", headers={"X-Request-ID": "trace-1"})
    assert kept.headers["x-request-id"] == "trace-1"
    assert kept.json() == {"rid": "trace-1", "to_thread": "trace-1"}
    bad = client.get("/id", headers={"X-Request-ID": "bad id\twith spaces"})
    generated = bad.headers["x-request-id"]
    assert generated != "bad id\twith spaces" and len(generated) == 32
    assert bad.json()["rid"] == generated
    fresh = client.get("/id")
    assert len(fresh.headers["x-request-id"]) == 32
    assert fresh.headers["x-request-id"] != generated
    assert current_request_id() is None  # nothing leaks out of requests
