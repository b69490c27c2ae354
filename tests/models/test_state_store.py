"""The state store's bookkeeping on its own: budgets, spilling, disk format, corruption.

The bytes here are arbitrary (the store never looks inside a state); what a real llama.cpp
state does is tested with the real model in test_prompt_cache.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.kv_state import KVSnapshot
from models.state_store import StateStore, StateUnavailableError

KB = 1024


def snap(tokens: list[int], size_kb: int, fill: int = 7) -> KVSnapshot:
    return KVSnapshot(
        tokens=np.asarray(tokens, dtype=np.int32), data=np.full(size_kb * KB, fill, np.uint8)
    )


def store(directory: Path | None, ram_kb: int = 1000, prefix_kb: int = 1000, disk_kb: int = 1000):
    return StateStore(directory, "model-a", ram_kb * KB, prefix_kb * KB, disk_kb * KB)


def test_prefix_is_written_at_once_and_found_after_a_restart(tmp_path: Path) -> None:
    first = store(tmp_path)
    first.put(snap([1, 2, 3, 4], 10, fill=42), "prefix")
    first.close()
    second = store(tmp_path)
    entry, shared = second.best(np.asarray([1, 2, 3, 4, 5, 6], np.int32))
    assert entry is not None and shared == 4 and entry.data is None  # indexed, not read
    loaded = second.load(entry)
    assert loaded.tokens.tolist() == [1, 2, 3, 4] and int(loaded.data[0]) == 42
    assert loaded.data.nbytes == 10 * KB


def test_ram_budget_spills_the_oldest_conversation_to_disk(tmp_path: Path) -> None:
    s = store(tmp_path, ram_kb=25)
    s.put(snap([1, 10], 10), "conversation")
    s.put(snap([2, 20], 10), "conversation")
    s.put(snap([3, 30], 10), "conversation")  # 30 KB > 25 KB: the oldest leaves RAM
    s.wait()
    stats = s.stats()
    assert stats["ram_bytes"] <= 25 * KB and stats["disk_files"] == 1
    entry, _ = s.best(np.asarray([1, 10], np.int32))
    assert entry is not None and entry.data is None and entry.on_disk
    assert s.load(entry).tokens.tolist() == [1, 10]  # back from disk


def test_without_disk_an_evicted_state_is_simply_gone() -> None:
    s = store(None, ram_kb=15)
    s.put(snap([1], 10), "conversation")
    s.put(snap([2], 10), "conversation")
    assert s.best(np.asarray([1], np.int32))[0] is None
    assert s.stats()["ram_bytes"] == 10 * KB


def test_disk_budget_evicts_conversations_before_prefixes(tmp_path: Path) -> None:
    s = store(tmp_path, ram_kb=0, prefix_kb=0, disk_kb=25)
    s.put(snap([9, 9], 10), "prefix")
    s.put(snap([1], 10), "conversation")
    s.put(snap([2], 10), "conversation")
    s.wait()
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("*.kv"))
    assert on_disk <= 25 * KB + 2 * KB
    assert s.best(np.asarray([9, 9], np.int32))[1] == 2  # the persona prefix stayed
    assert s.best(np.asarray([1], np.int32))[0] is None  # the oldest conversation went


def test_a_longer_conversation_state_replaces_the_one_it_extends(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put(snap([5, 6], 10), "prefix")
    s.put(snap([5, 6, 7], 10), "conversation")
    s.put(snap([5, 6, 7, 8, 9], 10), "conversation")
    stats = s.stats()
    assert stats["conversation_states"] == 1 and stats["prefix_states"] == 1


def test_corrupt_or_foreign_files_are_misses_and_removed(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put(snap([1, 2], 10), "prefix")
    s.close()
    (path,) = tmp_path.glob("*.kv")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    again = store(tmp_path)
    entry, _ = again.best(np.asarray([1, 2], np.int32))
    assert entry is not None
    with pytest.raises(StateUnavailableError, match="checksum"):
        again.load(entry)
    assert not path.exists() and again.best(np.asarray([1, 2], np.int32))[0] is None
    s2 = store(tmp_path)
    s2.put(snap([3, 4], 10), "prefix")
    s2.close()
    other = StateStore(tmp_path, "model-b", KB * KB, KB * KB, KB * KB)  # another model's id
    assert other.best(np.asarray([3, 4], np.int32))[0] is None
    (tmp_path / "junk.kv").write_bytes(b"not a state")
    assert store(tmp_path).stats()["disk_files"] == 0  # nothing readable is kept


def test_discard_matching_forgets_everything_under_a_prefix(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.put(snap([1, 2], 10), "prefix")
    s.put(snap([1, 2, 3], 10), "conversation")
    s.put(snap([4, 5], 10), "prefix")
    s.wait()
    assert s.discard_matching(np.asarray([1, 2], np.int32)) == 2
    assert s.stats()["prefix_states"] == 1
    assert len(list(tmp_path.glob("*.kv"))) == 1
    assert s.discard_matching(np.asarray([], np.int32)) == 1
