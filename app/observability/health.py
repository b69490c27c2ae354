"""The health view: per-component state and an overall status for /health and the admin tab.

Lazy components report `unloaded`/`loading`/`ready` as normal states; only `failed` and
`degraded` make the whole report worse. Which failures take the app down is the caller's
decision (`critical`): a broken TTS engine degrades IKAR, a broken database fails it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.services.models import ModelManager
from app.services.scheduling import QueueStats
from app.storage.database import Database
from media.service import MediaService
from memory import MemoryService

ComponentState = Literal["ok", "degraded", "failed", "disabled", "unloaded", "loading", "ready"]
OverallStatus = Literal["ok", "degraded", "failed"]


class ComponentHealth(BaseModel):
    """One component's state, with a human-readable detail and numbers for display."""

    name: str
    state: ComponentState
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class HealthReport(BaseModel):
    """Overall status plus every component, keyed by name."""

    status: OverallStatus
    components: dict[str, ComponentHealth]

    @property
    def http_status(self) -> int:
        """503 when failed (load balancers and scripts stop sending), else 200."""
        return 503 if self.status == "failed" else 200


def aggregate(
    components: Iterable[ComponentHealth], critical: Collection[str] = ()
) -> HealthReport:
    """Combine component states: `failed` if a critical component failed; `degraded` if any
    other failed or anything is degraded; `ok` otherwise."""
    by_name = {c.name: c for c in components}
    status: OverallStatus = "ok"
    for component in by_name.values():
        if component.state == "failed" and component.name in critical:
            status = "failed"
            break
        if component.state in ("failed", "degraded"):
            status = "degraded"
    return HealthReport(status=status, components=by_name)


def disk_health(path: Path, min_free_bytes: int, name: str = "disk") -> ComponentHealth:
    """Free space where `path` lives: degraded below `min_free_bytes`, failed if unreadable.

    Checks the nearest existing parent, so it works before the data folder is created.
    """
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError as error:
        return ComponentHealth(name=name, state="failed", detail=f"cannot read {probe}: {error}")
    data = {
        "path": str(path),
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "min_free_bytes": min_free_bytes,
    }
    if usage.free < min_free_bytes:
        return ComponentHealth(
            name=name,
            state="degraded",
            detail=f"{usage.free // 2**20} MiB free, below {min_free_bytes // 2**20} MiB",
            data=data,
        )
    return ComponentHealth(
        name=name, state="ok", detail=f"{usage.free // 2**20} MiB free", data=data
    )


class HealthMonitor:
    """Builds the `/health` report: the database (critical), the model, disk, memory, media.

    Why here and not in the composition root: aggregation is the health view's business;
    the root only hands over the components. Blocking probes run in a worker thread.
    """

    def __init__(
        self,
        db: Database,
        models: ModelManager,
        memory: MemoryService,
        media: MediaService,
        data_dir: Path,
        min_free_bytes: int = 1 << 30,
        queues: Callable[[], list[QueueStats]] | None = None,
    ) -> None:
        self.db = db
        # The lines in front of the models (read without waiting for any model).
        self.queues = queues
        self.models = models
        self.memory = memory
        self.media = media
        self.data_dir = data_dir
        self.min_free_bytes = min_free_bytes

    def blocking_components(self) -> list[ComponentHealth]:
        """The probes that touch disk or SQLite (run off the event loop)."""
        return [
            self._db(),
            self._llm(),
            disk_health(self.data_dir, self.min_free_bytes),
            self._memory(),
        ]

    async def report(self) -> dict[str, Any]:
        """The report as `/health` sends it: each component's data flattened next to its
        state (clients read `components.llm.loaded`)."""
        components = await asyncio.to_thread(self.blocking_components)
        components.append(await self._media())
        body = aggregate(components, critical={"db"}).model_dump(mode="json")
        for name, comp in body["components"].items():
            body["components"][name] = {**comp.pop("data", {}), **comp}
        return body

    def _db(self) -> ComponentHealth:
        try:
            ok = self.db.ping()
        except Exception as exc:
            return ComponentHealth(name="db", state="failed", detail=str(exc))
        return ComponentHealth(
            name="db", state="ok" if ok else "failed", data={"path": str(self.db.path)}
        )

    def _llm(self) -> ComponentHealth:
        llm = self.models.status()
        return ComponentHealth(
            name="llm",
            state=llm.state,
            detail=llm.detail or "",
            data=llm.model_dump()
            | {
                "load_progress": round(self.models.load_progress, 3),
                "queue": [q.model_dump() for q in self.queues()] if self.queues else [],
            },
        )

    def _memory(self) -> ComponentHealth:
        try:
            mem = self.memory.status()
        except Exception as exc:
            return ComponentHealth(name="memory", state="failed", detail=str(exc))
        return ComponentHealth(
            name="memory",
            state="failed" if mem.embedder.state == "failed" else "ok",
            detail=mem.embedder.detail or "",
            data=mem.model_dump(mode="json") | {"index_consistent": mem.index.consistent},
        )

    async def _media(self) -> ComponentHealth:
        try:
            media = await self.media.status()
        except Exception as exc:
            return ComponentHealth(name="media", state="failed", detail=str(exc))
        failed = [n for n, e in media.engines.items() if e.state == "failed"]
        return ComponentHealth(
            name="media",
            state="degraded" if failed else "ok",
            detail=", ".join(f"{n}: {media.engines[n].detail}" for n in failed),
            data=media.model_dump(mode="json"),
        )
