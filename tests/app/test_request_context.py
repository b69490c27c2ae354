"""A request's correlation id reaches the background work it starts (logs stay joinable)."""

import asyncio

from app.observability.context import current_request_id, request_id_scope
from media.config import QueuesConfig
from media.jobs import JobContext, JobQueues


def test_request_id_travels_into_media_jobs() -> None:
    queues = JobQueues(QueuesConfig())

    def job(ctx: JobContext) -> str | None:
        return current_request_id()

    async def scenario() -> str | None:
        with request_id_scope("req-42abc"):
            return await queues.submit("ocr", job)

    try:
        assert asyncio.run(scenario()) == "req-42abc"
    finally:
        queues.shutdown(wait=True)
