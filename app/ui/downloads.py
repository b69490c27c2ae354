"""Files the UI offers for download (exports): written once, where the app's cache lives."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path


async def write_download(cache_dir: Path, name: str, data: bytes) -> str:
    """Write `data` as `name` in its own folder under `cache_dir/exports`; return the path.

    One folder per download keeps the user's file name and never overwrites another export.
    """

    def write() -> str:
        exports = cache_dir / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(dir=exports)) / name
        target.write_bytes(data)
        return str(target)

    return await asyncio.to_thread(write)
