"""Saved KV states: a RAM LRU per kind, spilled to and reloaded from disk.

A state is keyed by the exact tokens it holds (SHA-256 of them) inside a folder keyed by the
model's identity, so an edited persona or another model can never reuse a stale state: its
tokens differ, and lookups compare tokens, not names.

Two kinds, with their own RAM budgets:
- "prefix": a persona's stable prefix, shared by every conversation with it. Written to disk
  as soon as it is made, so a restart starts warm.
- "conversation": the whole KV of a conversation that was switched away from. Written to disk
  only when the RAM budget evicts it (or at unload), so a busy chat never waits on a disk.

Files are written by one writer thread (no llama.cpp calls there), to a temp name then
renamed; each carries a CRC32 of its data, and a file that fails to read is deleted and
treated as a miss. Nothing here touches the model: `models/prompt_cache.py` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from models.kv_state import KVSnapshot, Tokens, common_prefix

log = logging.getLogger(__name__)

Kind = Literal["prefix", "conversation"]
_MAGIC = b"IKARKV01"
_SUFFIX = ".kv"
_MB = 1024 * 1024


class StateUnavailableError(Exception):
    """A saved state could not be read back (gone, corrupt, or for another model)."""


class StateCacheStats(BaseModel):
    """What the state caches hold and how they were used (for /health and the bench)."""

    enabled: bool
    on_disk: bool = (
        False  # states are also saved to disk (the folder is not shown: /health is public)
    )
    prefix_states: int = 0
    conversation_states: int = 0
    ram_bytes: int = 0
    disk_bytes: int = 0
    disk_files: int = 0
    restores_ram: int = 0
    restores_disk: int = 0
    saves: int = 0
    prefixes_made: int = 0
    tokens_reused: int = 0
    tokens_evaluated: int = 0
    cuts: int = 0


@dataclass
class Entry:
    key: str
    kind: Kind
    tokens: Tokens
    nbytes: int
    data: np.ndarray | None = None  # None: only on disk
    on_disk: bool = False
    writing: bool = False
    spill: bool = False  # drop the RAM copy once written


def state_key(tokens: Tokens) -> str:
    return hashlib.sha256(np.ascontiguousarray(tokens, dtype="<i4").tobytes()).hexdigest()[:40]


class StateStore:
    """Thread-safe; `load` and `put` are called on the compute thread, `stats` anywhere."""

    def __init__(
        self,
        directory: Path | None,
        model_id: str,
        ram_bytes: int,
        prefix_ram_bytes: int,
        disk_bytes: int,
    ) -> None:
        self.directory = directory
        self.model_id = model_id
        self._ram_budget: dict[Kind, int] = {"prefix": prefix_ram_bytes, "conversation": ram_bytes}
        self._disk_budget = disk_bytes if directory is not None else 0
        self._lock = threading.RLock()
        self._entries: OrderedDict[str, Entry] = OrderedDict()  # least recently used first
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-writer")
        self._pending: list[Future[None]] = []
        if self.directory is not None and self._disk_budget > 0:
            self._index_disk()

    # -- lookups -------------------------------------------------------------------------
    def best(self, tokens: Tokens) -> tuple[Entry | None, int]:
        """The entry sharing the longest token prefix with `tokens` (RAM wins ties)."""
        best: Entry | None = None
        best_n = 0
        with self._lock:
            for entry in self._entries.values():
                n = common_prefix(entry.tokens, tokens)
                if n > best_n or (n == best_n and n > 0 and best and best.data is None):
                    best, best_n = entry, n
        return best, best_n

    def find(self, tokens: Tokens) -> Entry | None:
        with self._lock:
            return self._entries.get(state_key(tokens))

    def load(self, entry: Entry) -> KVSnapshot:
        """The entry's snapshot, read from disk (and kept in RAM) if needed."""
        with self._lock:
            data = entry.data
            if entry.key in self._entries:
                self._entries.move_to_end(entry.key)
        if data is not None:
            return KVSnapshot(tokens=entry.tokens, data=data)
        try:
            tokens, data = self._read(entry.key)
        except (OSError, ValueError) as exc:
            self.discard(entry.key)
            raise StateUnavailableError(f"state {entry.key[:12]} unreadable: {exc}") from exc
        with self._lock:
            if entry.key in self._entries:
                entry.data = data
                self._evict_ram(entry.kind)
        return KVSnapshot(tokens=tokens, data=data)

    # -- changes -------------------------------------------------------------------------
    def put(self, snapshot: KVSnapshot, kind: Kind) -> Entry:
        """Keep a snapshot; a conversation state replaces the ones it extends."""
        key = state_key(snapshot.tokens)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = Entry(key, kind, snapshot.tokens, int(snapshot.data.nbytes))
                self._entries[key] = entry
            entry.data, entry.spill = snapshot.data, False
            self._entries.move_to_end(key)
            if kind == "conversation":
                self._drop_extended_by(entry)
            if kind == "prefix":
                self._write_soon(entry)
            self._evict_ram(kind)
        return entry

    def discard(self, key: str) -> None:
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is not None and entry.on_disk:
            self._unlink(key)

    def discard_matching(self, head: Tokens) -> int:
        """Forget every state that starts with `head` (all of them for an empty head)."""
        with self._lock:
            keys = [
                e.key
                for e in self._entries.values()
                if len(e.tokens) >= len(head) and common_prefix(e.tokens, head) == len(head)
            ]
        for key in keys:
            self.discard(key)
        return len(keys)

    def flush(self) -> None:
        """Write every conversation state still only in RAM, and wait for all writes."""
        with self._lock:
            for entry in list(self._entries.values()):
                if entry.data is not None and not entry.on_disk:
                    self._write_soon(entry)
        self.wait()

    def wait(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            with contextlib.suppress(Exception):
                future.result()

    def close(self) -> None:
        self.wait()
        self._writer.shutdown(wait=True)

    def stats(self) -> dict[str, int]:
        with self._lock:
            entries = list(self._entries.values())
        return {
            "prefix_states": sum(e.kind == "prefix" for e in entries),
            "conversation_states": sum(e.kind == "conversation" for e in entries),
            "ram_bytes": sum(e.nbytes for e in entries if e.data is not None),
            "disk_bytes": sum(e.nbytes + e.tokens.nbytes for e in entries if e.on_disk),
            "disk_files": sum(e.on_disk for e in entries),
        }

    # -- internals -----------------------------------------------------------------------
    def _drop_extended_by(self, newer: Entry) -> None:
        """A conversation state that the new one extends can never win a lookup again."""
        for entry in list(self._entries.values()):
            if (
                entry is not newer
                and entry.kind == "conversation"
                and len(entry.tokens) <= len(newer.tokens)
                and common_prefix(entry.tokens, newer.tokens) == len(entry.tokens)
            ):
                self._entries.pop(entry.key, None)
                if entry.on_disk:
                    self._unlink(entry.key)

    def _evict_ram(self, kind: Kind) -> None:
        """Least recently used first: spill to disk (if any), then drop the RAM copy.

        A spilled entry keeps its data until the writer has it on disk, so a lookup in
        between still finds it in RAM.
        """
        budget = self._ram_budget[kind]
        in_ram = [
            e
            for e in self._entries.values()
            if e.kind == kind and e.data is not None and not e.spill
        ]
        used = sum(e.nbytes for e in in_ram)
        for entry in in_ram:  # oldest first
            if used <= budget:
                break
            used -= entry.nbytes
            if entry.on_disk:
                entry.data = None
            elif self.directory is not None and self._disk_budget > 0:
                entry.spill = True
                self._write_soon(entry)
            else:
                self._entries.pop(entry.key, None)

    def _write_soon(self, entry: Entry) -> None:
        if self.directory is None or self._disk_budget <= 0 or entry.on_disk or entry.writing:
            return
        data = entry.data
        if data is None:
            return
        if entry.nbytes > self._disk_budget:  # would push everything else out, and still not fit
            if entry.spill:
                self._entries.pop(entry.key, None)
            return
        entry.writing = True
        self._pending.append(self._writer.submit(self._write, entry, data))

    def _write(self, entry: Entry, data: np.ndarray) -> None:
        assert self.directory is not None
        try:
            self._evict_disk(entry.nbytes)
            header = json.dumps(
                {
                    "model": self.model_id,
                    "kind": entry.kind,
                    "n_tokens": len(entry.tokens),
                    "nbytes": int(data.nbytes),
                    "crc32": zlib.crc32(data.data),
                }
            ).encode()
            path = self._path(entry.key)
            tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
            with open(tmp, "wb") as fh:
                fh.write(_MAGIC + struct.pack("<I", len(header)) + header)
                fh.write(np.ascontiguousarray(entry.tokens, dtype="<i4").tobytes())
                fh.write(data.data)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not save KV state %s: %s", entry.key[:12], exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
            with self._lock:
                entry.writing = False
                if entry.spill:  # it was leaving RAM: without a file it is gone
                    self._entries.pop(entry.key, None)
            return
        with self._lock:
            entry.writing = False
            if entry.key in self._entries:
                entry.on_disk = True
                if entry.spill:
                    entry.data, entry.spill = None, False
            else:  # forgotten while being written
                self._unlink(entry.key)

    def _evict_disk(self, incoming: int) -> None:
        """Make room: conversation states before persona prefixes, oldest first."""
        with self._lock:
            on_disk = [e for e in self._entries.values() if e.on_disk]
            used = sum(e.nbytes for e in on_disk)
            victims = [e for e in on_disk if e.kind == "conversation"] + [
                e for e in on_disk if e.kind == "prefix"
            ]
            for entry in victims:
                if used + incoming <= self._disk_budget:
                    break
                used -= entry.nbytes
                entry.on_disk = False
                if entry.data is None:
                    self._entries.pop(entry.key, None)
                self._unlink(entry.key)

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{key}{_SUFFIX}"

    def _unlink(self, key: str) -> None:
        with contextlib.suppress(OSError):
            self._path(key).unlink()

    def _read_header(self, fh: object) -> dict[str, object]:
        read = fh.read  # type: ignore[attr-defined]
        if read(len(_MAGIC)) != _MAGIC:
            raise ValueError("not a KV state file")
        (length,) = struct.unpack("<I", read(4))
        header: dict[str, object] = json.loads(read(length))
        if header.get("model") != self.model_id:
            raise ValueError("state of another model")
        return header

    def _read(self, key: str) -> tuple[Tokens, np.ndarray]:
        with open(self._path(key), "rb") as fh:
            header = self._read_header(fh)
            n, nbytes = int(header["n_tokens"]), int(header["nbytes"])  # type: ignore[call-overload]
            tokens = np.frombuffer(fh.read(4 * n), dtype="<i4").astype(np.int32)
            data = np.frombuffer(fh.read(nbytes), dtype=np.uint8)
        if len(tokens) != n or data.size != nbytes:
            raise ValueError("truncated state file")
        if zlib.crc32(data.data) != header["crc32"]:
            raise ValueError("state file checksum mismatch")
        with contextlib.suppress(OSError):
            os.utime(self._path(key))  # recently used: evicted last
        return tokens, data

    def _index_disk(self) -> None:
        """Learn the tokens of every saved state (not their data) at start."""
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        files = sorted(self.directory.glob(f"*{_SUFFIX}"), key=_mtime)
        for path in files:
            try:
                with open(path, "rb") as fh:
                    header = self._read_header(fh)
                    n = int(header["n_tokens"])  # type: ignore[call-overload]
                    tokens = np.frombuffer(fh.read(4 * n), dtype="<i4").astype(np.int32)
                kind = header.get("kind")
                if len(tokens) != n or kind not in ("prefix", "conversation"):
                    raise ValueError("bad header")
                if state_key(tokens) != path.stem:
                    raise ValueError("name does not match tokens")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("dropping unreadable KV state %s: %s", path.name, exc)
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            entry = Entry(path.stem, kind, tokens, int(header["nbytes"]), on_disk=True)  # type: ignore[call-overload]
            self._entries[entry.key] = entry
        for stale in self.directory.glob("*.tmp*"):
            with contextlib.suppress(OSError):
                stale.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()
