"""Bounded job queues, one per kind of media work, each with its own worker threads.

Why: TTS, STT, OCR and image generation block for hundreds of milliseconds to minutes. They
must never run on the asyncio event loop, a burst of requests must be refused early rather
than pile up (a bounded queue answers `QueueFullError` -> HTTP 429), and one slow kind (an
image: concurrency 1) must not delay another (speech). Each job gets a `JobContext` through
which it reports progress and notices cancellation; the caller sees queue depth, running jobs
and waiting times in `stats()` for `/health` and metrics.

Usage::

    queues = JobQueues(config.queues)
    result = await queues.submit("ocr", reader_fn, image_bytes, timeout=30, progress=cb)

`fn` is called in a worker thread as ``fn(ctx, *args, **kwargs)``. Cancellation and timeouts
are cooperative for work that is already running: the awaiting caller is released at once,
`ctx.cancelled` is set, and the worker slot frees when `fn` notices (every progress report
checks) or finishes. Jobs still waiting are dropped without running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import itertools
import logging
import statistics
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from media.config import JOB_KINDS, JobKind, QueueLimits, QueuesConfig
from media.errors import JobCancelledError, JobTimeoutError, QueueFullError

log = logging.getLogger(__name__)

R = TypeVar("R")
JobState = Literal["queued", "running", "done", "failed", "cancelled", "timed_out"]
ProgressCallback = Callable[[float, str | None], object]
"""Called from the worker thread with (fraction 0..1, description or None)."""

_WAIT_SAMPLES = 256


class JobContext:
    """What a running job sees: report progress, check for cancellation."""

    def __init__(self, job_id: str, progress: ProgressCallback | None) -> None:
        self.job_id = job_id
        self.cancelled = threading.Event()
        self._progress = progress
        self.fraction = 0.0
        self.description: str | None = None

    def check_cancelled(self) -> None:
        """Raise `JobCancelledError` when the job was cancelled or timed out."""
        if self.cancelled.is_set():
            raise JobCancelledError(f"job {self.job_id} was cancelled")

    def report(self, fraction: float, description: str | None = None) -> None:
        """Record progress (0..1), forward it to the caller's callback, check cancellation."""
        self.check_cancelled()
        self.fraction = min(1.0, max(0.0, float(fraction)))
        self.description = description
        if self._progress is not None:
            try:
                self._progress(self.fraction, description)
            except Exception:  # a broken UI callback must not fail the job
                log.exception("progress callback of job %s failed", self.job_id)


class JobInfo(BaseModel):
    """One job as `jobs()` lists it."""

    id: str
    kind: JobKind
    state: JobState
    progress: float
    description: str | None = None
    submitted_at: float
    wait_s: float | None = None
    run_s: float | None = None
    error: str | None = None


class QueueStats(BaseModel):
    """Metrics of one queue, for `/health` and Prometheus gauges."""

    kind: JobKind
    queued: int
    running: int
    max_queued: int
    concurrency: int
    submitted: int
    completed: int
    failed: int
    cancelled: int
    timed_out: int
    rejected: int
    wait_p50_s: float | None
    wait_p95_s: float | None
    wait_max_s: float | None


class _Job:
    def __init__(
        self, job_id: str, kind: JobKind, ctx: JobContext, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.id = job_id
        self.kind = kind
        self.ctx = ctx
        self.loop = loop
        self.state: JobState = "queued"
        self.submitted = time.monotonic()
        self.submitted_wall = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.error: str | None = None
        self.future: concurrent.futures.Future[Any] | None = None
        self.released: asyncio.Future[None] = loop.create_future()

    def info(self) -> JobInfo:
        wait = None if self.started is None else self.started - self.submitted
        run = None
        if self.started is not None:
            run = (self.finished or time.monotonic()) - self.started
        return JobInfo(
            id=self.id,
            kind=self.kind,
            state=self.state,
            progress=self.ctx.fraction,
            description=self.ctx.description,
            submitted_at=self.submitted_wall,
            wait_s=None if wait is None else round(wait, 4),
            run_s=None if run is None else round(run, 4),
            error=self.error,
        )


class _KindQueue:
    """The state of one kind: its executor, its jobs and its counters."""

    def __init__(self, kind: JobKind, limits: QueueLimits) -> None:
        self.kind = kind
        self.limits = limits
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=limits.concurrency, thread_name_prefix=f"media-{kind}"
        )
        self.queued: set[str] = set()
        self.running: set[str] = set()
        self.waits: deque[float] = deque(maxlen=_WAIT_SAMPLES)
        self.counts = dict.fromkeys(
            ("submitted", "completed", "failed", "cancelled", "timed_out", "rejected"), 0
        )


class JobQueues:
    """All media job queues. Thread-safe; `submit` must be awaited on an event loop."""

    def __init__(self, config: QueuesConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._queues: dict[JobKind, _KindQueue] = {
            kind: _KindQueue(kind, config.for_kind(kind)) for kind in JOB_KINDS
        }
        self._jobs: dict[str, _Job] = {}  # live jobs
        self._history: deque[_Job] = deque(maxlen=config.history)
        self._seq = itertools.count(1)
        self._closed = False

    async def submit(
        self,
        kind: JobKind,
        fn: Callable[..., R],
        *args: Any,
        timeout: float | None = None,
        progress: ProgressCallback | None = None,
        job_id: str | None = None,
        **kwargs: Any,
    ) -> R:
        """Run ``fn(ctx, *args, **kwargs)`` in the kind's workers and return its result.

        ``timeout``: seconds from now, waiting included (default: the queue's);
        ``progress``: a `ProgressCallback`; ``job_id``: a caller-chosen id, so a UI can
        cancel the job later. Other arguments go to ``fn`` after the `JobContext`.
        Raises `QueueFullError` at once when the queue is full, `JobTimeoutError`,
        `JobCancelledError`, or whatever `fn` raised.
        """
        queue = self._queues[kind]
        limit = float(timeout) if timeout is not None else queue.limits.timeout_s
        job_id = job_id or f"{kind}-{next(self._seq)}-{uuid.uuid4().hex[:8]}"
        loop = asyncio.get_running_loop()
        job = _Job(job_id, kind, JobContext(job_id, progress), loop)

        with self._lock:
            if self._closed:
                raise QueueFullError("media queues are shut down")
            if job_id in self._jobs:
                raise ValueError(f"job id {job_id!r} is already in use")
            # Capacity counts running jobs too: a timed-out job whose code has not stopped yet
            # still holds its worker, so admitting more would only grow a hidden backlog.
            capacity = queue.limits.concurrency + queue.limits.max_queued
            if len(queue.queued) + len(queue.running) >= capacity:
                queue.counts["rejected"] += 1
                raise QueueFullError(
                    f"the {kind} queue is full ({len(queue.queued)} waiting, "
                    f"{len(queue.running)} running); try again shortly"
                )
            queue.queued.add(job_id)
            queue.counts["submitted"] += 1
            self._jobs[job_id] = job
            # The caller's context (request id for logs) travels into the worker thread.
            context = contextvars.copy_context()
            job.future = queue.executor.submit(context.run, self._run, job, fn, args, kwargs)

        result_future = asyncio.wrap_future(job.future, loop=loop)
        try:
            done, _ = await asyncio.wait(
                {result_future, job.released}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:  # the caller went away (client disconnect)
            self._finish_early(job, "cancelled", "the caller went away")
            raise
        if result_future in done:
            try:
                return result_future.result()
            except (concurrent.futures.CancelledError, asyncio.CancelledError):
                # the future itself was cancelled (the job was dropped while waiting)
                raise JobCancelledError(f"job {job_id} was cancelled") from None
        if not done:
            self._finish_early(job, "timed_out", f"no result within {limit:g} s")
            result_future.cancel()
            raise JobTimeoutError(f"the {kind} job did not finish within {limit:g} s")
        result_future.cancel()
        raise JobCancelledError(f"job {job_id} was cancelled")

    def _run(
        self, job: _Job, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        queue = self._queues[job.kind]
        with self._lock:
            if job.state != "queued":  # cancelled or timed out while waiting
                raise JobCancelledError(f"job {job.id} was {job.state.replace('_', ' ')}")
            job.state = "running"
            job.started = time.monotonic()
            queue.queued.discard(job.id)
            queue.running.add(job.id)
            queue.waits.append(job.started - job.submitted)
        try:
            result = fn(job.ctx, *args, **kwargs)
        except JobCancelledError as exc:
            self._finish(job, "cancelled", str(exc))
            raise
        except BaseException as exc:
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self._finish(job, "done", None)
        return result

    def _finish(self, job: _Job, state: JobState, error: str | None) -> None:
        queue = self._queues[job.kind]
        with self._lock:
            queue.running.discard(job.id)
            queue.queued.discard(job.id)
            if job.state in ("queued", "running"):  # not already timed out / cancelled
                job.state = state
                job.error = error
                queue.counts[_COUNTER[state]] += 1
            job.finished = time.monotonic()
            self._retire(job)

    def _finish_early(self, job: _Job, state: JobState, reason: str) -> None:
        """Release the waiting caller's job: drop it if queued, signal it if running."""
        queue = self._queues[job.kind]
        job.ctx.cancelled.set()
        with self._lock:
            if job.state not in ("queued", "running"):
                return
            was_queued = job.state == "queued"
            job.state = state
            job.error = reason
            queue.counts[_COUNTER[state]] += 1
            if was_queued:
                queue.queued.discard(job.id)
                if job.future is not None:
                    job.future.cancel()
                job.finished = time.monotonic()
                self._retire(job)
            # a running job keeps its worker slot (and stays in `running`) until fn returns

    def _retire(self, job: _Job) -> None:
        done = job.finished is not None and job.id not in self._queues[job.kind].running
        if done and self._jobs.pop(job.id, None) is not None:
            self._history.append(job)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; True if it was live. Safe from any thread."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.state not in ("queued", "running"):
            return False
        self._finish_early(job, "cancelled", "cancelled on request")

        def release() -> None:
            if not job.released.done():
                job.released.set_result(None)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            job.loop.call_soon_threadsafe(release)
        return True

    def jobs(self, kind: JobKind | None = None, include_finished: bool = True) -> list[JobInfo]:
        """Live jobs (and recent finished ones), oldest first."""
        with self._lock:
            items = list(self._jobs.values())
            if include_finished:
                items += list(self._history)
        items.sort(key=lambda j: j.submitted)
        return [j.info() for j in items if kind is None or j.kind == kind]

    def stats(self) -> dict[JobKind, QueueStats]:
        """Queue depth, running jobs, counters and waiting-time percentiles per kind."""
        out: dict[JobKind, QueueStats] = {}
        with self._lock:
            for kind, q in self._queues.items():
                waits = sorted(q.waits)
                out[kind] = QueueStats(
                    kind=kind,
                    queued=len(q.queued),
                    running=len(q.running),
                    max_queued=q.limits.max_queued,
                    concurrency=q.limits.concurrency,
                    wait_p50_s=_round(statistics.median(waits)) if waits else None,
                    wait_p95_s=_round(_percentile(waits, 0.95)) if waits else None,
                    wait_max_s=_round(waits[-1]) if waits else None,
                    **q.counts,
                )
        return out

    def shutdown(self, wait: bool = False) -> None:
        """Refuse new jobs, cancel waiting ones, signal running ones."""
        with self._lock:
            self._closed = True
            live = list(self._jobs.values())
        for job in live:
            self._finish_early(job, "cancelled", "shutting down")
        for q in self._queues.values():
            q.executor.shutdown(wait=wait, cancel_futures=True)


_COUNTER: dict[JobState, str] = {
    "done": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
    "timed_out": "timed_out",
}


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _round(value: float) -> float:
    return round(value, 4)
