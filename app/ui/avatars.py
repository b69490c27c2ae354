"""Pictures beside chat messages: the persona's card avatar (or its identicon) for the bot,
an identicon of the user's id for the user.

The files go to the system temp folder, named by their content: gradio serves only files
from the working directory, the temp folder or `allowed_paths`, and these are derived,
rebuilt from the database whenever they are missing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from app.soul.avatar import render_avatar
from app.soul.card import Persona

USER_AVATAR_SIZE = 96


def avatar_dir() -> Path:
    return Path(tempfile.gettempdir()) / "ikar-avatars"


def avatar_file(png: bytes) -> str:
    """A file holding `png` (written once, atomically; the same bytes, the same file)."""
    folder = avatar_dir()
    path = folder / f"{hashlib.sha256(png).hexdigest()[:24]}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(png)
        os.replace(tmp, path)
    return str(path)


def persona_avatar(persona: Persona) -> str:
    return avatar_file(persona.avatar_png or render_avatar(persona.name))


def user_avatar(user_id: str) -> str:
    return avatar_file(render_avatar(f"user:{user_id}", USER_AVATAR_SIZE))
