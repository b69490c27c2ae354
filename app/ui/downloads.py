"""Files the UI offers for download (exports): written once, privately, in gradio's cache.

Why there: gradio serves a file output from its own cache folder (copying it there if it is
elsewhere), and with its file checks on (app/factory.py) it hands out only files in that
folder or the artifact cache. Each download gets its own unguessable folder (the user's file
name is kept, nothing is overwritten); files are 0600 and folders 0700, so other accounts on
the machine cannot read them. Admin backups and user exports never come here: they are
streamed by a one-time link (app/services/admin_downloads.py).
"""

from __future__ import annotations

import asyncio
import os
import secrets

from app.ui.uploads import upload_folder


async def write_download(name: str, data: bytes) -> str:
    """Write `data` as `name` in its own private folder; return the path for a gr.File."""

    def write() -> str:
        folder = upload_folder() / "ikar-downloads" / secrets.token_hex(16)
        folder.mkdir(mode=0o700, parents=True)
        target = folder / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return str(target)

    return await asyncio.to_thread(write)
