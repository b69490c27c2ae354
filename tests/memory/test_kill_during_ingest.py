"""SIGKILL during ingestion loses nothing acknowledged; the next start repairs the index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from app.storage.database import Database
from memory import MemoryConfig, MemoryQuery, build_memory
from memory.embedders import E5Embedder
from tests.waits import CATCH_UP_S

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from app.storage.database import Database
    from memory import MemoryConfig, build_memory
    root = Path(sys.argv[1])
    svc = build_memory(Database(root / "ikar.db"), MemoryConfig(index_save_every=7), root / "index")
    svc.start()
    i = 0
    while True:
        text = f"fact number {i}: the code word is w{i}"
        svc.remember_turn("u", None, "c", f"m{i}", "user", text, time.time())
        print(f"ack m{i}", flush=True)  # acknowledged only after remember_turn returned
        i += 1
    """
)


def test_sigkill_mid_ingest_loses_nothing_acknowledged(tmp_path: Path, e5: E5Embedder) -> None:
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        text=True,
    )
    acked: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while len(acked) < 150 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ack "):
            acked.append(line.split()[1])
    index_file = tmp_path / "index" / "memory-e5-small-q4-flat.faiss"
    while not index_file.exists() and time.monotonic() < deadline:  # let a save happen
        acked += [ln.split()[1] for ln in [proc.stdout.readline()] if ln.startswith("ack ")]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert len(acked) >= 150

    db = Database(tmp_path / "ikar.db")
    svc = build_memory(db, MemoryConfig(), tmp_path / "index", embedder=e5)
    try:
        verdict = svc.start()
        with db.connect() as conn:
            stored = {r[0] for r in conn.execute("SELECT message_id FROM memories")}
        assert set(acked) <= stored
        assert svc.wait_until_indexed(CATCH_UP_S)
        status = svc.status(exact=True)
        assert status.index.consistent, verdict
        assert status.index.size == len(stored) and status.index.pending_embeddings == 0
        last = acked[-1]
        hits = svc.search(MemoryQuery(user_id="u", query=f"code word w{last[1:]}", k=3))
        assert last in [h.source_message_ids[0] for h in hits]
    finally:
        svc.close()
        db.close()
