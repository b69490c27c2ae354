"""The durable embedding backlog (issue 10 item 8): a conversation import commits its
messages and the memories to embed in one transaction; a process killed right after that
commit, before any vector is made, leaves a backlog that `/health` shows and the next
start embeds, so the conversation is remembered."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.composition import build_services
from app.factory import create_app
from config.settings import Settings
from memory import MemoryQuery, TurnIn
from tests.memory.conftest import HashEmbedder
from tests.waits import CATCH_UP_S

CHAT = [
    {"speaker": "me", "text": "My sister Masha moved to Kazan last spring", "timestamp": 1.7e9},
    {"speaker": "Nova", "text": "Kazan! Does she like it there?", "timestamp": 1.7e9 + 60},
    {"speaker": "me", "text": "She adores the Kremlin at night", "timestamp": 1.7e9 + 120},
]

# Runs in a child process: the import's first commit ends the process (os._exit: no
# clean-up, no atexit, no index save), as a kill -9 right after the commit would.
CHILD = textwrap.dedent(
    """
    import os, sys
    from contextlib import contextmanager
    from pathlib import Path
    from app.composition import build_services
    from app.storage.database import Database
    from config.settings import Settings

    data_dir, models_dir, model, upload = sys.argv[1:5]
    settings = Settings(_env_file=None, data_dir=data_dir, models_dir=models_dir,
                        default_model=model, llm_preload=False, language="en")
    services = build_services(settings)
    services.memory.start()
    services.users.get_or_create("alice")
    original = Database.transaction
    armed = []

    @contextmanager
    def transaction(self):
        outer = not self._connection().in_transaction
        with original(self) as conn:
            yield conn
        stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        if outer and armed and stored:
            os._exit(17)  # killed right after the messages' commit, before any embedding

    Database.transaction = transaction
    armed.append(True)
    services.transfer.import_file("alice", Path(upload).read_bytes(), "auto", "chat.json")
    sys.exit(3)  # not reached: the import commits
    """
)


def _settings(make_settings: Any) -> Settings:
    return make_settings()  # type: ignore[no-any-return]


def test_a_kill_between_commit_and_embedding_is_resumed_at_restart(
    make_settings: Any, tmp_path: Path
) -> None:
    settings = _settings(make_settings)
    upload = tmp_path / "chat.json"
    upload.write_text(json.dumps(CHAT), encoding="utf-8")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(settings.data_dir),
            str(settings.resolved_models_dir),
            settings.default_model,
            str(upload),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.returncode == 17, child.stderr[-3000:]

    services = build_services(settings)
    try:
        # before the start: the conversation and its memories are there, none embedded
        conversations = services.chat.conversations.list("alice")
        assert len(conversations) == 1
        turns = [m for m in services.memory.store.all_for_user("alice") if m.kind == "turn"]
        assert len(turns) == 3 and all(m.embedding_model is None for m in turns)
        assert services.memory.status().embedding_backlog == 3
        # the restart resumes the backlog
        services.memory.start()
        assert services.memory.wait_until_indexed(CATCH_UP_S)
        assert services.memory.status().embedding_backlog == 0
        hits = services.memory.search(
            MemoryQuery(user_id="alice", query="Where does Masha live?", k=3, mode="dense")
        )
        assert hits and "Kazan" in hits[0].text
    finally:
        services.close()


def test_health_shows_the_backlog(make_settings: Any, tmp_path: Path) -> None:
    settings = _settings(make_settings)
    services = build_services(settings)
    services.users.get_or_create("alice")
    # an import before the memory started (the embedder is not running): a backlog
    services.transfer.import_file("alice", json.dumps(CHAT).encode(), "auto", "chat.json")
    assert services.memory.status().embedding_backlog == 3
    app = create_app(settings, services)
    with TestClient(app) as client:
        assert services.memory.wait_until_indexed(CATCH_UP_S)
        health = client.get("/health").json()
        memory = health["components"]["memory"]
        assert memory["embedding_backlog"] == 0
        assert memory["index"]["size"] >= 3


class _GatedEmbedder(HashEmbedder):
    """Embeds only while the gate is open: a busy or stalled embedder on demand."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.batches: list[list[str]] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.gate.wait(30)
        self.batches.append(list(texts))
        return super().embed_passages(texts)


def test_a_live_turn_is_embedded_before_an_import_and_the_next_turn_can_wait_for_it(
    make_service: Any,
) -> None:
    embedder = _GatedEmbedder()
    svc = make_service(embedder=embedder)
    svc.remember_turns(
        [
            TurnIn(user_id="u", conversation_id="imp", message_id=f"i{i}", role="user",
                   text=f"imported line {i}", created_at=float(i))
            for i in range(300)
        ]
    )  # fmt: skip
    told = svc.remember_turn("u", None, "c", "m1", "user", "My sister lives in Dublin.", 500.0)
    assert svc.settle("u", timeout=0.2) is False  # the embedder is stalled: bounded wait
    assert svc.settle("u", timeout=0.2) is True  # ...waited for once, not at every turn
    svc.remember_turn("u", None, "c", "m2", "user", "My cat is Barsik.", 501.0)
    embedder.gate.set()
    assert svc.settle("u", timeout=30) is True
    dense = svc.search(MemoryQuery(user_id="u", query="My cat is Barsik.", k=1, mode="dense"))
    assert [h.source_message_ids for h in dense] == [["m2"]]
    # the live turns went in a batch of their own, ahead of the rest of the import
    live = next(b for b in embedder.batches if any("Barsik" in t for t in b))
    assert all("imported" not in t for t in live)
    assert embedder.batches.index(live) <= 1 and told
    assert svc.wait_until_indexed(CATCH_UP_S)
