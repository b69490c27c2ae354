"""Item 10: the artifact cache's clean-up touches regular files inside the cache root only.

A symlink planted in the cache folder (to the data folder, to one file) must never make a
restart, an eviction or a removal delete what it points at.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.storage.database import Database
from media.artifacts import ArtifactCache, cache_key


def _victims(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "data"
    outside.mkdir()
    database = outside / "ikar.sqlite3"
    database.write_bytes(b"SQLite format 3\x00 precious")
    return outside, database


def test_a_symlinked_folder_in_the_cache_does_not_make_a_restart_delete_its_target(
    tmp_path: Path,
) -> None:
    outside, database = _victims(tmp_path)
    db = Database(tmp_path / "cache.sqlite3")
    root = tmp_path / "cache"
    ArtifactCache(db, root, max_bytes=10_000)
    (root / "ab").symlink_to(outside, target_is_directory=True)
    (root / "cd").mkdir()
    (root / "cd" / "stray.wav").symlink_to(database)

    ArtifactCache(db, root, max_bytes=10_000)  # a restart reconciles the folder

    assert database.read_bytes().endswith(b"precious")
    assert outside.is_dir()


def test_removing_an_artifact_never_follows_a_swapped_in_link(tmp_path: Path) -> None:
    outside, _ = _victims(tmp_path)
    db = Database(tmp_path / "cache.sqlite3")
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=10_000)
    key = cache_key("test", {"n": 1})
    path = cache.put(key, b"RIFF", kind="tts", ext="wav")
    assert path is not None
    # the artifact's folder is replaced by a link to a folder holding a same-named file
    (outside / path.name).write_bytes(b"not ours")
    for child in path.parent.iterdir():
        child.unlink()
    path.parent.rmdir()
    os.symlink(outside, path.parent, target_is_directory=True)

    cache.delete(key)
    cache.clear()
    assert (outside / path.name).read_bytes() == b"not ours"


def test_regular_leftovers_inside_the_cache_are_still_cleaned(tmp_path: Path) -> None:
    db = Database(tmp_path / "cache.sqlite3")
    root = tmp_path / "cache"
    ArtifactCache(db, root, max_bytes=10_000)
    (root / "ef").mkdir()
    leftover = root / "ef" / ".tmp-crash"
    leftover.write_bytes(b"half")
    ArtifactCache(db, root, max_bytes=10_000)
    assert not leftover.exists()


def test_storing_an_artifact_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    outside, _ = _victims(tmp_path)
    db = Database(tmp_path / "cache.sqlite3")
    root = tmp_path / "cache"
    cache = ArtifactCache(db, root, max_bytes=10_000)
    key = cache_key("test", {"n": 2})
    (root / key[:2]).symlink_to(outside, target_is_directory=True)
    path = cache.put(key, b"RIFF", kind="tts", ext="wav")
    assert path is not None and path.read_bytes() == b"RIFF"
    assert not (root / key[:2]).is_symlink()
    assert sorted(p.name for p in outside.iterdir()) == ["ikar.sqlite3"]
