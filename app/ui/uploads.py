"""The one way a UI handler reads a file it was given: only from gradio's upload folder.

A Gradio event's file inputs are paths the client names in a FileData, and a raw call to
`/gradio_api/queue/join` can name any path on the server. Gradio refuses paths outside its
upload folder before a handler runs (the factory turns that check on: `gr.mount_gradio_app`
leaves it off). This helper is the second lock, in the handlers themselves: the path must
resolve, links followed, to a regular file inside the upload folder, or the handler refuses
with a clear message; the size is checked before anything is read.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import gradio.utils

from config.errors import FileTooLargeError, IkarError


class UploadRefusedError(IkarError):
    """A file input that is not a file the user uploaded (400)."""

    code = "upload_refused"
    status_code = 400
    key = "error.upload_refused"


def upload_folder() -> Path:
    """Gradio's upload folder (GRADIO_TEMP_DIR, else <tmp>/gradio), resolved."""
    return Path(gradio.utils.get_upload_folder()).resolve()


def uploaded_path(path: str | None) -> Path:
    """`path` checked to be a regular file the user uploaded, else `UploadRefusedError`."""
    if not path:
        raise UploadRefusedError("no file")
    candidate = Path(path)
    try:
        resolved = candidate.resolve(strict=True)
        mode = candidate.lstat().st_mode
    except (OSError, RuntimeError):
        raise UploadRefusedError("the file does not exist") from None
    if stat.S_ISLNK(mode) or not stat.S_ISREG(resolved.stat().st_mode):
        raise UploadRefusedError("not a regular file")
    if not resolved.is_relative_to(upload_folder()):
        raise UploadRefusedError("not in the upload folder")
    return resolved


async def uploaded_bytes(path: str | None, max_bytes: int) -> bytes:
    """The content of an uploaded file: `UploadRefusedError` if it is not one,
    `FileTooLargeError` (413) over `max_bytes`."""

    def read() -> bytes:
        checked = uploaded_path(path)
        if checked.stat().st_size > max_bytes:
            raise FileTooLargeError(max_bytes)
        with checked.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileTooLargeError(max_bytes)
        return data

    return await asyncio.to_thread(read)
