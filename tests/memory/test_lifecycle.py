"""close() and a start() running in the app's background thread take turns: the database is
never closed under a start-up query (that crashed the process), and a start() that only
gets going after close() does nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from app.storage.database import Database
from memory import MemoryConfig, build_memory


def test_close_waits_for_a_running_start(tmp_path: Path, hash_embedder) -> None:
    db = Database(tmp_path / "m.db")
    svc = build_memory(db, MemoryConfig(), tmp_path / "index", embedder=hash_embedder)
    svc.remember_turn("u", None, "c", "m1", "user", "My cat is Barsik", 1.0)
    entered = threading.Event()
    original = svc.keeper.startup_check

    def slow_check() -> str:
        entered.set()
        time.sleep(0.5)
        return original()

    svc.keeper.startup_check = slow_check  # type: ignore[method-assign]
    starter = threading.Thread(target=svc.start)
    starter.start()
    assert entered.wait(5)
    started = time.monotonic()
    svc.close()  # must wait for start() to leave the database alone
    assert time.monotonic() - started >= 0.3
    db.close()
    starter.join(5)
    assert not starter.is_alive()


def test_start_after_close_does_nothing(tmp_path: Path, hash_embedder) -> None:
    db = Database(tmp_path / "m.db")
    svc = build_memory(db, MemoryConfig(), tmp_path / "index", embedder=hash_embedder)
    svc.close()
    assert svc.start() == "closed"
    assert not svc.ingest._thread
    db.close()
