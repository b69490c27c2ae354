"""`ArtifactCache`: generated audio, images and recognition results, content-addressed on disk.

Why: the same sentence spoken twice, the same prompt+seed drawn twice, or the same photo read
twice should cost a disk read, not seconds of CPU. The key is a sha256 over every input that
changes the output, the engine, model, voice and their versions included, so a new voice
file or library version can never serve a stale artifact.

- Files are written atomically (temp file in the same folder + `os.replace`): a crash leaves
  either the old state or the new file, never half a file under a real key.
- Metadata (size, kind, last access, hits) lives in the shared SQLite database, so LRU order
  and counters survive restarts; on start the folder and the table are reconciled.
- The folder has a size cap; the least recently used artifacts are evicted past it.
- Keys are 64 lower-case hex characters, validated on every entry point, and every served
  path is checked to lie inside the cache folder: nothing a caller passes can name another
  file. The lead points Gradio's `allowed_paths` at this one folder.
- Clean-up (restart, eviction, removal) deletes only regular files in the cache's own
  two-level layout and never follows a symlink: a link planted in the folder is removed as a
  link, never through (it once made a restart delete the database).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from app.storage.database import Database

log = logging.getLogger(__name__)

_KEY = re.compile(r"[0-9a-f]{64}")
_EXTENSIONS = {"wav": "audio/wav", "png": "image/png", "json": "application/json"}

_MIGRATIONS = [
    """
    CREATE TABLE media_artifacts (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        ext TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL,
        last_access REAL NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX media_artifacts_lru ON media_artifacts(last_access);
    CREATE TABLE media_cache_counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    """,
    # Who an artifact was made for: a user's speech, pictures and transcripts are their data
    # (exported with them, deleted with them); the same content made for two users is one
    # file with two owners.
    """
    CREATE TABLE media_artifact_owners (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL REFERENCES media_artifacts(key) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        PRIMARY KEY (user_id, key)
    );
    CREATE INDEX media_artifact_owners_by_key ON media_artifact_owners(key);
    """,
]


class CacheStats(BaseModel):
    """What `/health` shows about the cache."""

    enabled: bool
    items: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    evictions: int
    directory: str


def is_valid_key(key: object) -> bool:
    """True for a well-formed artifact key (64 lower-case hex characters)."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def cache_key(namespace: str, inputs: Mapping[str, Any]) -> str:
    """sha256 over a namespace and every input that matters (bytes are hashed first).

    Values must be JSON-serialisable or bytes; dict order does not matter.
    """

    def normalise(value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return {"sha256": hashlib.sha256(value).hexdigest()}
        if isinstance(value, Mapping):
            return {str(k): normalise(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [normalise(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    payload = json.dumps(
        {"ns": namespace, "in": normalise(inputs)}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ArtifactCache:
    """Content-addressed files under `root`, metadata in `db`, capped at `max_bytes`."""

    def __init__(self, db: Database, root: Path, *, max_bytes: int, enabled: bool = True) -> None:
        self._db = db
        self.root = Path(root).resolve()
        self.max_bytes = int(max_bytes)
        self.enabled = enabled
        self._lock = threading.Lock()  # orders writes and evictions within this process
        self.root.mkdir(parents=True, exist_ok=True)
        db.migrate("media", _MIGRATIONS)
        self._reconcile()

    # -- reading -------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The artifact's bytes (a hit updates its LRU position), or None (a miss)."""
        path = self.path_for(key) if self.enabled else None
        if path is None:
            self._count("misses")
            return None
        try:
            data = path.read_bytes()
        except OSError:  # evicted or deleted between lookup and read
            self._count("misses")
            return None
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE media_artifacts SET last_access = ?, hits = hits + 1 WHERE key = ?",
                (time.time(), key),
            )
            _bump(conn, "hits")
        return data

    def path_for(self, key: str) -> Path | None:
        """The file of a cached artifact, guaranteed inside the cache folder, or None.

        Does not count as a hit: it is what the HTTP layer serves after `get`/`put`.
        """
        if not is_valid_key(key):
            return None
        with self._db.connect() as conn:
            row = conn.execute("SELECT ext FROM media_artifacts WHERE key = ?", (key,)).fetchone()
        if row is None or row["ext"] not in _EXTENSIONS:
            return None
        path = self._file(key, row["ext"])
        return path if self.is_servable(path) else None

    def is_servable(self, path: Path | str) -> bool:
        """True only for an existing regular file inside the cache folder (links resolved)."""
        try:
            resolved = Path(path).resolve(strict=True)
        except (OSError, RuntimeError):
            return False
        return resolved.is_relative_to(self.root) and resolved.is_file()

    @staticmethod
    def media_type(path: Path) -> str:
        """The MIME type the HTTP layer should send for a cached file."""
        return _EXTENSIONS.get(path.suffix.lstrip("."), "application/octet-stream")

    # -- writing -------------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, kind: str, ext: str) -> Path | None:
        """Store an artifact atomically; returns its path, or None when not cached.

        An artifact larger than the whole cap is not stored (it would evict everything).
        """
        if not is_valid_key(key):
            raise ValueError("artifact keys are 64 lower-case hex characters")
        if ext not in _EXTENSIONS:
            raise ValueError(f"unsupported artifact type {ext!r}")
        if not self.enabled or len(data) > self.max_bytes:
            return None
        path = self._file(key, ext)
        with self._lock:
            if path.parent.is_symlink():  # never write through a planted link
                path.parent.unlink()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            now = time.time()
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO media_artifacts(key, kind, ext, size, created_at, last_access)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                    " size = excluded.size, ext = excluded.ext, last_access = excluded.last_access",
                    (key, kind, ext, len(data), now, now),
                )
            self._evict(keep=key)
        return path

    def delete(self, key: str) -> bool:
        """Remove one artifact; True when it existed."""
        if not is_valid_key(key):
            return False
        with self._lock:
            return self._remove(key)

    def clear(self) -> int:
        """Remove every artifact; returns how many."""
        with self._lock, self._db.connect() as conn:
            keys = [r["key"] for r in conn.execute("SELECT key FROM media_artifacts")]
        removed = 0
        with self._lock:
            for key in keys:
                removed += self._remove(key)
        return removed

    # -- owners --------------------------------------------------------------------------

    def add_owner(self, key: str, user_id: str) -> None:
        """Record that `key` was made (or served from the cache) for `user_id`."""
        if not is_valid_key(key):
            return
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO media_artifact_owners(user_id, key, created_at)"
                " SELECT ?, key, ? FROM media_artifacts WHERE key = ?"
                " ON CONFLICT(user_id, key) DO NOTHING",
                (user_id, time.time(), key),
            )

    def is_owner(self, user_id: str, key: str) -> bool:
        if not is_valid_key(key):
            return False
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM media_artifact_owners WHERE user_id = ? AND key = ?",
                (user_id, key),
            ).fetchone()
        return row is not None

    def owned(self, user_id: str) -> list[dict[str, Any]]:
        """The user's artifacts (metadata, not bytes), oldest first."""
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT a.key, a.kind, a.ext, a.size, o.created_at FROM media_artifact_owners o"
                " JOIN media_artifacts a ON a.key = o.key WHERE o.user_id = ?"
                " ORDER BY o.created_at, a.key",
                (user_id,),
            ).fetchall()
        return [
            {
                "key": r["key"],
                "kind": r["kind"],
                "media_type": _EXTENSIONS.get(r["ext"], "application/octet-stream"),
                "size": int(r["size"]),
                "created_at": float(r["created_at"]),
            }
            for r in rows
        ]

    def forget_owner(self, user_id: str) -> tuple[int, list[Path]]:
        """Drop the user's ownership; artifacts nobody else owns are deleted with it.

        Joins the caller's transaction; returns (artifacts forgotten, files to remove once
        it commits).
        """
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT a.key, a.ext, (SELECT COUNT(*) FROM media_artifact_owners o2"
                "   WHERE o2.key = a.key) AS owners"
                " FROM media_artifact_owners o JOIN media_artifacts a ON a.key = o.key"
                " WHERE o.user_id = ?",
                (user_id,),
            ).fetchall()
            conn.execute("DELETE FROM media_artifact_owners WHERE user_id = ?", (user_id,))
            orphans = [r for r in rows if int(r["owners"]) == 1]
            conn.executemany(
                "DELETE FROM media_artifacts WHERE key = ?", [(r["key"],) for r in orphans]
            )
        return len(rows), [self._file(r["key"], r["ext"]) for r in orphans]

    # -- bookkeeping ---------------------------------------------------------------------

    def stats(self) -> CacheStats:
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS total FROM media_artifacts"
            ).fetchone()
            counters = {
                r["name"]: int(r["value"])
                for r in conn.execute("SELECT name, value FROM media_cache_counters")
            }
        return CacheStats(
            enabled=self.enabled,
            items=int(row["n"]),
            bytes=int(row["total"]),
            max_bytes=self.max_bytes,
            hits=counters.get("hits", 0),
            misses=counters.get("misses", 0),
            evictions=counters.get("evictions", 0),
            directory=str(self.root),
        )

    def _file(self, key: str, ext: str) -> Path:
        return self.root / key[:2] / f"{key}.{ext}"

    def _count(self, name: str) -> None:
        with self._db.transaction() as conn:
            _bump(conn, name)

    def _remove(self, key: str) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT ext FROM media_artifacts WHERE key = ?", (key,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM media_artifacts WHERE key = ?", (key,))
        self.remove_file(self._file(key, row["ext"]))
        return True

    def remove_file(self, path: Path) -> None:
        """Delete one artifact file: only inside the cache's own layout, never through a link.

        `path` must be `<root>/<xx>/<name>` with `<xx>` a real folder (not a symlink); the
        entry itself is unlinked without following it (a link goes, its target stays).
        """
        if path.parent.parent != self.root or not _real_dir(path.parent):
            log.warning("artifact cache: refused to remove %s (outside its layout)", path)
            return
        path.unlink(missing_ok=True)

    def _evict(self, keep: str) -> None:
        """Drop least recently used artifacts until the folder fits the cap (lock held)."""
        with self._db.connect() as conn:
            total = int(
                conn.execute("SELECT COALESCE(SUM(size), 0) FROM media_artifacts").fetchone()[0]
            )
            if total <= self.max_bytes:
                return
            rows = conn.execute(
                "SELECT key, size FROM media_artifacts WHERE key != ? ORDER BY last_access, key",
                (keep,),
            ).fetchall()
        evicted = 0
        for row in rows:
            if total <= self.max_bytes:
                break
            if self._remove(row["key"]):
                total -= int(row["size"])
                evicted += 1
        if evicted:
            with self._db.transaction() as conn:
                _bump(conn, "evictions", evicted)
            log.info("artifact cache evicted %d item(s)", evicted)

    def _reconcile(self) -> None:
        """Make the folder and the table agree after a crash or a manual deletion."""
        known: dict[str, str] = {}
        with self._db.connect() as conn:
            for row in conn.execute("SELECT key, ext FROM media_artifacts"):
                known[row["key"]] = row["ext"]
        missing = [k for k, ext in known.items() if not _regular_file(self._file(k, ext))]
        if missing:
            with self._db.transaction() as conn:
                conn.executemany(
                    "DELETE FROM media_artifacts WHERE key = ?", [(k,) for k in missing]
                )
        for path in self._stray_files(known):
            path.unlink(missing_ok=True)  # a crash's leftover, an unknown file, a link
        with self._lock:
            self._evict(keep="")

    def _stray_files(self, known: dict[str, str]) -> list[Path]:
        """Entries of `<root>/<xx>/` that are no artifact: never looked through a link.

        A symlink at either level is itself stray (removing it removes the link only); a
        linked folder is never entered.
        """
        stray: list[Path] = []
        with os.scandir(self.root) as top:
            for folder in top:
                if folder.is_symlink():
                    stray.append(Path(folder.path))
                    continue
                if not folder.is_dir(follow_symlinks=False):
                    continue
                with os.scandir(folder.path) as entries:
                    for entry in entries:
                        if entry.is_symlink():
                            stray.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            stem, _, ext = entry.name.partition(".")
                            if entry.name.startswith(".tmp-") or known.get(stem) != ext:
                                stray.append(Path(entry.path))
        return stray


def _real_dir(path: Path) -> bool:
    """A folder that is not a symlink."""
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _regular_file(path: Path) -> bool:
    """A regular file reached without following a link at the file or its folder."""
    try:
        return _real_dir(path.parent) and stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _bump(conn: Any, name: str, by: int = 1) -> None:
    conn.execute(
        "INSERT INTO media_cache_counters(name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        (name, by),
    )
