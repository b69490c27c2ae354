"""Bring the subsystems' own counters into Prometheus, right before `/metrics` is read.

Media and memory keep their statistics themselves (they know nothing of Prometheus); this
copies the deltas since the last read, so counters only ever grow and gauges are current.
"""

from __future__ import annotations

import asyncio
import threading

from app.observability.metrics import Metrics
from media.service import MediaService
from memory import MemoryService


class MetricsSync:
    def __init__(self, metrics: Metrics, media: MediaService, memory: MemoryService) -> None:
        self.metrics = metrics
        self.media = media
        self.memory = memory
        self._lock = threading.Lock()
        self._seen_jobs: set[str] = set()
        self._cache_hits = 0
        self._cache_misses = 0
        self._last_consolidation: float | None = None

    async def sync_async(self) -> None:
        """`sync` off the event loop (it reads SQLite)."""
        await asyncio.to_thread(self.sync)

    def sync(self) -> None:
        with self._lock:
            self._queues()
            self._cache()
            self._memory()

    def _queues(self) -> None:
        for kind, stats in self.media.queues.stats().items():
            self.metrics.set_queue_depth(kind, stats.queued)
        for job in self.media.jobs():
            if job.id in self._seen_jobs or job.wait_s is None:
                continue
            self._seen_jobs.add(job.id)
            self.metrics.observe_queue_wait(job.kind, job.wait_s)
        if len(self._seen_jobs) > 10_000:  # job history is bounded; so is what we remember
            self._seen_jobs = {job.id for job in self.media.jobs()}

    def _cache(self) -> None:
        stats = self.media.cache.stats()
        if stats.hits > self._cache_hits:
            self.metrics.cache_hit("artifacts", stats.hits - self._cache_hits)
        if stats.misses > self._cache_misses:
            self.metrics.cache_miss("artifacts", stats.misses - self._cache_misses)
        self._cache_hits, self._cache_misses = stats.hits, stats.misses

    def _memory(self) -> None:
        status = self.memory.status()
        self.metrics.set_memory_index_size(status.index.size)
        done = status.consolidation.last_finished_at
        if done is not None and done != self._last_consolidation:
            self._last_consolidation = done
            self.metrics.consolidation_run("error" if status.consolidation.error else "ok")
