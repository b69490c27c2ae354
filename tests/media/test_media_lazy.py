"""`LazyModel`: one load under concurrency, visible state, idle unload, failure with reason."""

from __future__ import annotations

import threading
import time

import pytest

from media.errors import EngineUnavailableError
from media.lazy import LazyModel


def test_loads_once_for_concurrent_first_users() -> None:
    loads = 0

    def loader() -> object:
        nonlocal loads
        loads += 1
        time.sleep(0.05)
        return object()

    lazy: LazyModel[object] = LazyModel("m", loader, idle_unload_s=None)
    assert lazy.status("e", "x").state == "unloaded"
    seen: list[object] = []

    def user() -> None:
        with lazy.use() as model:
            seen.append(model)

    threads = [threading.Thread(target=user) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == 1 and len({id(m) for m in seen}) == 1
    status = lazy.status("e", "x")
    assert status.state == "ready" and status.load_seconds is not None


def test_unloads_after_idle_time_but_not_while_in_use() -> None:
    closed: list[object] = []
    lazy: LazyModel[object] = LazyModel("m", object, idle_unload_s=0.1, closer=closed.append)
    with lazy.use():
        time.sleep(0.25)
        assert lazy.state == "ready"  # pinned while in use
    deadline = time.monotonic() + 2
    while lazy.state != "unloaded" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lazy.state == "unloaded" and len(closed) == 1
    with lazy.use():  # loads again on the next use
        assert lazy.state == "ready"


def test_failed_load_shows_reason_and_retries() -> None:
    attempts = 0

    def loader() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise FileNotFoundError("model.bin missing")
        return "model"

    lazy: LazyModel[str] = LazyModel("m", loader, idle_unload_s=None)
    with pytest.raises(EngineUnavailableError, match=r"model\.bin missing"):
        lazy.load()
    status = lazy.status("e", None)
    assert status.state == "failed" and "model.bin missing" in (status.detail or "")
    assert lazy.load() == "model" and lazy.state == "ready"
