"""The job queues: bounded, concurrency-limited, timed out, cancellable, observable."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from media.config import QueueLimits, QueuesConfig
from media.errors import JobCancelledError, JobTimeoutError, QueueFullError
from media.jobs import JobContext, JobQueues


def _queues(**limits: QueueLimits) -> JobQueues:
    return JobQueues(QueuesConfig(**limits))


def test_result_and_arguments_pass_through() -> None:
    queues = _queues()

    def add(ctx: JobContext, a: int, b: int = 0) -> int:
        return a + b

    async def main() -> int:
        return await queues.submit("tts", add, 2, b=3)

    assert asyncio.run(main()) == 5
    assert queues.stats()["tts"].completed == 1
    queues.shutdown()


def test_work_runs_off_the_event_loop_thread() -> None:
    queues = _queues()

    async def main() -> tuple[int, int]:
        worker = await queues.submit("ocr", lambda ctx: threading.get_ident())
        return worker, threading.get_ident()

    worker, loop_thread = asyncio.run(main())
    assert worker != loop_thread
    queues.shutdown()


def test_full_queue_refuses_at_once() -> None:
    queues = _queues(image=QueueLimits(max_queued=1, concurrency=1, timeout_s=30))
    release = threading.Event()

    def block(ctx: JobContext) -> str:
        release.wait(10)
        return "ok"

    async def main() -> list[object]:
        first = asyncio.create_task(queues.submit("image", block))
        second = asyncio.create_task(queues.submit("image", block))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(QueueFullError):
            await queues.submit("image", block)
        assert time.monotonic() - started < 0.5
        stats = queues.stats()["image"]
        assert (stats.running, stats.queued, stats.rejected) == (1, 1, 1)
        release.set()
        return list(await asyncio.gather(first, second))

    assert asyncio.run(main()) == ["ok", "ok"]
    queues.shutdown()


def test_concurrency_limit_is_respected() -> None:
    queues = _queues(stt=QueueLimits(max_queued=20, concurrency=2, timeout_s=30))
    lock = threading.Lock()
    running = 0
    peak = 0

    def work(ctx: JobContext) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(queues.submit("stt", work) for _ in range(8)))

    asyncio.run(main())
    assert peak == 2
    stats = queues.stats()["stt"]
    assert stats.completed == 8 and stats.wait_p95_s is not None and stats.wait_p95_s > 0
    queues.shutdown()


def test_image_queue_runs_one_job_at_a_time_by_default() -> None:
    assert QueuesConfig().image.concurrency == 1


def test_timeout_releases_the_caller_and_signals_the_job() -> None:
    queues = _queues()
    saw_cancel = threading.Event()

    def slow(ctx: JobContext) -> None:
        for _ in range(200):
            if ctx.cancelled.wait(0.01):
                saw_cancel.set()
                ctx.check_cancelled()
        raise AssertionError("not cancelled")

    async def main() -> None:
        started = time.monotonic()
        with pytest.raises(JobTimeoutError):
            await queues.submit("ocr", slow, timeout=0.1)
        assert time.monotonic() - started < 1.0

    asyncio.run(main())
    assert saw_cancel.wait(2)
    deadline = time.monotonic() + 2
    while queues.stats()["ocr"].running and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = queues.stats()["ocr"]
    assert (stats.timed_out, stats.running, stats.failed) == (1, 0, 0)
    assert queues.jobs("ocr")[0].state == "timed_out"
    queues.shutdown()


def test_cancel_running_job_by_id() -> None:
    queues = _queues()
    started = threading.Event()

    def long_job(ctx: JobContext) -> None:
        started.set()
        while True:
            ctx.report(0.5, "working")
            time.sleep(0.01)

    async def main() -> None:
        task = asyncio.create_task(queues.submit("image", long_job, job_id="img-1"))
        await asyncio.to_thread(started.wait, 5)
        assert [j.state for j in queues.jobs("image")] == ["running"]
        assert queues.cancel("img-1") is True
        with pytest.raises(JobCancelledError):
            await task
        assert queues.cancel("img-1") is False

    asyncio.run(main())
    assert queues.stats()["image"].cancelled == 1
    queues.shutdown()


def test_cancel_waiting_job_never_runs_it() -> None:
    queues = _queues(image=QueueLimits(max_queued=5, concurrency=1, timeout_s=30))
    release = threading.Event()
    ran: list[str] = []

    def job(ctx: JobContext, name: str) -> str:
        ran.append(name)
        release.wait(10)
        return name

    async def main() -> None:
        first = asyncio.create_task(queues.submit("image", job, "first"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(queues.submit("image", job, "second", job_id="wait-1"))
        await asyncio.sleep(0.05)
        assert queues.stats()["image"].queued == 1
        assert queues.cancel("wait-1")
        with pytest.raises(JobCancelledError):
            await second
        release.set()
        assert await first == "first"

    asyncio.run(main())
    time.sleep(0.05)
    assert ran == ["first"]
    assert queues.stats()["image"].queued == 0
    queues.shutdown()


def test_progress_callback_receives_reports() -> None:
    queues = _queues()
    seen: list[tuple[float, str | None]] = []

    def job(ctx: JobContext) -> None:
        for i in range(1, 4):
            ctx.report(i / 3, f"step {i}")

    async def main() -> None:
        await queues.submit("tts", job, progress=lambda f, d: seen.append((f, d)))

    asyncio.run(main())
    assert seen == [(1 / 3, "step 1"), (2 / 3, "step 2"), (1.0, "step 3")]
    queues.shutdown()


def test_broken_progress_callback_does_not_fail_the_job() -> None:
    queues = _queues()

    def bad(fraction: float, desc: str | None) -> None:
        raise RuntimeError("ui gone")

    def job(ctx: JobContext) -> str:
        ctx.report(0.5)
        return "fine"

    assert asyncio.run(queues.submit("tts", job, progress=bad)) == "fine"  # type: ignore[arg-type]
    queues.shutdown()


def test_job_errors_propagate_and_are_counted() -> None:
    queues = _queues()

    def boom(ctx: JobContext) -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        asyncio.run(queues.submit("stt", boom))  # type: ignore[arg-type]
    assert queues.stats()["stt"].failed == 1
    assert queues.jobs()[0].error == "ValueError: bad input"
    queues.shutdown()


def test_ten_concurrent_requests_report_wait_percentiles() -> None:
    queues = _queues(tts=QueueLimits(max_queued=16, concurrency=1, timeout_s=30))

    async def main() -> None:
        await asyncio.gather(
            *(queues.submit("tts", lambda ctx: time.sleep(0.01)) for _ in range(10))
        )

    asyncio.run(main())
    stats = queues.stats()["tts"]
    assert stats.completed == 10
    assert stats.wait_p50_s is not None and stats.wait_max_s is not None
    assert stats.wait_max_s >= 0.08  # the last job waited for nine others
    queues.shutdown()


def test_shutdown_refuses_new_jobs() -> None:
    queues = _queues()
    queues.shutdown()
    with pytest.raises(QueueFullError):
        asyncio.run(queues.submit("tts", lambda ctx: None))
