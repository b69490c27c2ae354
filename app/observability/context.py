"""The request (correlation) id of the work being done, carried by a ContextVar.

A ContextVar is the one module-level object here, and deliberately so: it is not shared
mutable state but a per-task/per-thread slot, and it must be a single object for every
reader to see the same slot.

Propagation: asyncio tasks and `asyncio.to_thread` copy the current context, so code behind
`await db.run(...)` logs with the right id. Plain threads and executors (the media job
queues) do not: submit `run_in_context(fn)` or `contextvars.copy_context().run` instead.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ikar_request_id", default=None
)


def new_request_id() -> str:
    """A fresh id: uuid4 as 32 hex characters."""
    return uuid.uuid4().hex


def sanitize_request_id(value: str | None) -> str | None:
    """`value` if it is a safe id (1-128 chars of [A-Za-z0-9._:@+=-]), else None.

    Client-supplied ids end up in logs and response headers, so anything that could forge
    log lines or headers (newlines, quotes, spaces, huge values) is replaced.
    """
    if value is not None and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    """The request id of the current task or thread, if any."""
    return _request_id.get()


@contextmanager
def request_id_scope(request_id: str | None = None) -> Iterator[str]:
    """Set the request id for the block (a new one if None); restore the previous after.

    Use it around work that starts outside a request (a scheduled consolidation, a CLI
    command) so its logs still correlate.
    """
    rid = sanitize_request_id(request_id) or new_request_id()
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


def run_in_context(fn: Callable[P, T]) -> Callable[P, T]:
    """Wrap `fn` to run in a copy of the *current* context (request id included).

    Call it where the work is submitted, e.g. `executor.submit(run_in_context(job))` or
    `queue.put(run_in_context(job))`; the worker thread then logs with the submitter's id.
    Each call runs in its own copy, so the wrapper may be called concurrently.
    """
    captured = contextvars.copy_context()

    def bound(*args: P.args, **kwargs: P.kwargs) -> T:
        return captured.copy().run(fn, *args, **kwargs)

    return bound
