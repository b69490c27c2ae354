"""Reading an uploaded file at the HTTP edge, bounded so a huge upload never fills memory.

The size rule itself (413 `file_too_large`) is decided by the service that takes the file
(`config.errors.check_upload_size`); the edge only stops reading one byte past the limit.
"""

from __future__ import annotations

from fastapi import UploadFile


async def read_upload(file: UploadFile, limit: int) -> bytes:
    """The upload's bytes, at most `limit + 1` of them (enough for the service to refuse)."""
    return await file.read(limit + 1)
