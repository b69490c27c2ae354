"""The artifact cache: content keys, atomic files, LRU cap, restarts, and the serving guard."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.storage.database import Database
from media.artifacts import ArtifactCache, cache_key, is_valid_key


def _key(n: int) -> str:
    return cache_key("test", {"n": n})


def test_key_covers_every_input_and_ignores_order() -> None:
    a = cache_key("tts", {"text": "hi", "voice": "joe", "voice_sha256": "1"})
    assert a == cache_key("tts", {"voice_sha256": "1", "voice": "joe", "text": "hi"})
    assert a != cache_key("tts", {"text": "hi", "voice": "joe", "voice_sha256": "2"})
    assert a != cache_key("stt", {"text": "hi", "voice": "joe", "voice_sha256": "1"})
    assert cache_key("x", {"b": b"abc"}) != cache_key("x", {"b": b"abd"})
    assert is_valid_key(a)


def test_put_then_get_is_a_hit_and_counts(db: Database, tmp_path: Path) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=10_000)
    key = _key(1)
    assert cache.get(key) is None
    path = cache.put(key, b"RIFF-data", kind="tts", ext="wav")
    assert path is not None and path.read_bytes() == b"RIFF-data"
    assert cache.get(key) == b"RIFF-data"
    stats = cache.stats()
    assert (stats.items, stats.bytes, stats.hits, stats.misses) == (1, 9, 1, 1)
    assert cache.path_for(key) == path
    assert ArtifactCache.media_type(path) == "audio/wav"


def test_lru_eviction_at_the_cap(db: Database, tmp_path: Path) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=300)
    keys = [_key(i) for i in range(3)]
    for key in keys:
        cache.put(key, b"x" * 100, kind="image", ext="png")
        time.sleep(0.01)
    assert cache.get(keys[0]) is not None  # now the most recently used
    time.sleep(0.01)
    cache.put(_key(3), b"y" * 100, kind="image", ext="png")
    assert cache.path_for(keys[1]) is None  # least recently used went first
    assert all(cache.path_for(k) for k in (keys[0], keys[2], _key(3)))
    stats = cache.stats()
    assert stats.bytes <= 300 and stats.evictions == 1
    assert not list((tmp_path / "cache").glob(f"*/{keys[1]}*"))


def test_an_artifact_larger_than_the_cap_is_not_cached(db: Database, tmp_path: Path) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=50)
    cache.put(_key(1), b"a" * 40, kind="tts", ext="wav")
    assert cache.put(_key(2), b"b" * 51, kind="tts", ext="wav") is None
    assert cache.get(_key(1)) == b"a" * 40


def test_cache_survives_restart_and_reconciles(tmp_path: Path) -> None:
    db = Database(tmp_path / "ikar.db")
    root = tmp_path / "cache"
    cache = ArtifactCache(db, root, max_bytes=10_000)
    keep, lost = _key(1), _key(2)
    cache.put(keep, b"keep", kind="ocr", ext="json")
    lost_path = cache.put(lost, b"lost", kind="ocr", ext="json")
    assert lost_path is not None
    lost_path.unlink()  # deleted behind our back
    orphan = root / "ab" / (_key(3) + ".png")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"crash leftover")
    (root / "ab" / ".tmp-half").write_bytes(b"half")
    db.close()

    db2 = Database(tmp_path / "ikar.db")
    cache2 = ArtifactCache(db2, root, max_bytes=10_000)
    assert cache2.get(keep) == b"keep"
    assert cache2.path_for(lost) is None
    assert not orphan.exists() and not (root / "ab" / ".tmp-half").exists()
    assert cache2.stats().items == 1
    db2.close()


@pytest.mark.parametrize(
    "bad",
    ["../../etc/passwd", "", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "../" + "0" * 61, None],
)
def test_invalid_keys_never_resolve(db: Database, tmp_path: Path, bad: object) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=1000)
    assert cache.path_for(bad) is None  # type: ignore[arg-type]
    assert cache.get(bad) is None  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cache.put(bad, b"x", kind="tts", ext="wav")  # type: ignore[arg-type]


def test_unknown_extension_is_refused(db: Database, tmp_path: Path) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=1000)
    with pytest.raises(ValueError):
        cache.put(_key(1), b"x", kind="tts", ext="html")


def test_only_files_inside_the_cache_are_servable(db: Database, tmp_path: Path) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=1000)
    inside = cache.put(_key(1), b"x", kind="tts", ext="wav")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    link = tmp_path / "cache" / "link.wav"
    link.symlink_to(outside)
    assert inside is not None and cache.is_servable(inside)
    assert not cache.is_servable(outside)
    assert not cache.is_servable(link)  # a link pointing out is resolved and refused
    assert not cache.is_servable(tmp_path / "cache" / ".." / "secret.txt")
    assert not cache.is_servable(tmp_path / "cache")  # a folder is not a file


def test_writes_are_atomic_no_temp_files_left(db: Database, tmp_path: Path) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=10_000)
    for i in range(5):
        cache.put(_key(i), b"z" * 10, kind="tts", ext="wav")
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


def test_disabled_cache_stores_nothing(db: Database, tmp_path: Path) -> None:
    cache = ArtifactCache(db, tmp_path / "cache", max_bytes=1000, enabled=False)
    assert cache.put(_key(1), b"x", kind="tts", ext="wav") is None
    assert cache.get(_key(1)) is None
