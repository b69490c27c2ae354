"""Raw calls to a Gradio event, the way a script (or an attacker) sends them.

The browser's protocol: `POST /gradio_api/queue/join` with `{data, fn_index, session_hash,
trigger_id, event_data}`, then the event's messages as Server-Sent Events from
`GET /gradio_api/queue/data?session_hash=...` until `process_completed`. Private events
(`api_visibility="private"`) are still reachable by `fn_index`, which is why every handler
must check what it is given.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import gradio.utils
import httpx
from fastapi import FastAPI


def blocks_of(app: FastAPI) -> gr.Blocks:
    """The Gradio Blocks mounted in `app`."""
    for route in app.routes:
        inner = getattr(route, "app", None)
        if inner is not None and hasattr(inner, "get_blocks"):
            blocks: gr.Blocks = inner.get_blocks()
            return blocks
    raise LookupError("no Gradio app is mounted")


def fn_index(app: FastAPI, owner: type, name: str) -> int:
    """The index of the event whose handler is `owner.name` (a tab's bound method)."""
    for index, fn in blocks_of(app).fns.items():
        handler = fn.fn
        bound_to = getattr(handler, "__self__", None)
        if isinstance(bound_to, owner) and getattr(handler, "__name__", "") == name:
            return int(index)
    raise LookupError(f"no event calls {owner.__name__}.{name}")


def file_data(path: str, name: str | None = None) -> dict[str, Any]:
    """A `gradio.FileData` naming any path: what a browser sends after an upload."""
    return {
        "path": path,
        "orig_name": name or path.rsplit("/", 1)[-1],
        "meta": {"_type": "gradio.FileData"},
    }


@contextmanager
def login(url: str, name: str | None = None, password: str = "") -> Iterator[httpx.Client]:
    """A client of `url`, holding the Gradio login cookie of `name` (None: no login)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        if name is not None:
            response = client.post("/login", data={"username": name, "password": password})
            response.raise_for_status()
        yield client


def call(client: httpx.Client, index: int, data: list[Any], timeout: float = 120) -> dict[str, Any]:
    """Run event `index` with `data`; the `process_completed` message (`success`, `output`),
    with the toasts shown meanwhile under `logs` (`{"level": "warning", "log": text}`)."""
    session_hash = uuid.uuid4().hex[:11]
    body = {
        "data": data,
        "fn_index": index,
        "session_hash": session_hash,
        "trigger_id": None,
        "event_data": None,
    }
    joined = client.post(  # ASCII JSON, as browsers send it: a lone surrogate goes as \ud800
        "/gradio_api/queue/join",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    if joined.status_code != 200:
        return {"msg": "refused", "success": False, "status": joined.status_code}
    deadline = time.monotonic() + timeout
    logs: list[dict[str, Any]] = []  # gr.Warning / gr.Info toasts, in order
    with client.stream(
        "GET", "/gradio_api/queue/data", params={"session_hash": session_hash}, timeout=timeout
    ) as stream:
        for line in stream.iter_lines():
            if time.monotonic() > deadline:
                break
            if not line.startswith("data:"):
                continue
            message: dict[str, Any] = json.loads(line[5:])
            if message.get("msg") == "log":
                logs.append(message)
            if message.get("msg") == "process_completed":
                message["logs"] = logs
                return message
    raise TimeoutError(f"event {index} did not complete within {timeout:.0f} s")


def as_upload(path: Path) -> str:
    """A copy of `path` in gradio's upload folder, where a browser upload lands: what a
    handler called directly in a test may be given."""
    folder = Path(gradio.utils.get_upload_folder()) / f"test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    target = folder / path.name
    shutil.copyfile(path, target)
    return str(target)


def downloads_folder() -> Path:
    """Where the UI writes the files it offers for download (app/ui/downloads.py)."""
    return Path(gradio.utils.get_upload_folder()).resolve() / "ikar-downloads"
