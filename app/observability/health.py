"""The health view: per-component state and an overall status for /health and the admin tab.

Lazy components report `unloaded`/`loading`/`ready` as normal states; only `failed` and
`degraded` make the whole report worse. Which failures take the app down is the caller's
decision (`critical`): a broken TTS engine degrades IKAR, a broken database fails it.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

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
