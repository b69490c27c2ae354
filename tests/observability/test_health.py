from pathlib import Path

import pytest
from pydantic import ValidationError

from app.observability.health import ComponentHealth, aggregate, disk_health


def c(name: str, state: str) -> ComponentHealth:
    return ComponentHealth(name=name, state=state)  # type: ignore[arg-type]


def test_lazy_states_are_healthy() -> None:
    report = aggregate(
        [
            c("db", "ok"),
            c("llm", "unloaded"),
            c("tts", "loading"),
            c("ocr", "ready"),
            c("img", "disabled"),
        ],
        critical={"db", "llm"},
    )
    assert report.status == "ok"
    assert report.http_status == 200
    assert set(report.components) == {"db", "llm", "tts", "ocr", "img"}


def test_degraded_and_failed_aggregation() -> None:
    assert aggregate([c("db", "ok"), c("tts", "failed")], critical={"db"}).status == "degraded"
    assert aggregate([c("db", "degraded")], critical={"db"}).status == "degraded"
    failed = aggregate([c("tts", "degraded"), c("db", "failed")], critical={"db"})
    assert failed.status == "failed"
    assert failed.http_status == 503
    assert aggregate([]).status == "ok"


def test_unknown_state_is_rejected() -> None:
    with pytest.raises(ValidationError):
        c("x", "sleepy")


def test_report_serialises() -> None:
    report = aggregate([ComponentHealth(name="llm", state="ready", data={"model": "q4"})])
    dumped = report.model_dump()
    assert dumped == {
        "status": "ok",
        "components": {
            "llm": {"name": "llm", "state": "ready", "detail": "", "data": {"model": "q4"}}
        },
    }


def test_disk_health_thresholds(tmp_path: Path) -> None:
    ok = disk_health(tmp_path, min_free_bytes=1)
    assert ok.state == "ok"
    assert ok.data["free_bytes"] > 0
    low = disk_health(tmp_path, min_free_bytes=2**62)
    assert low.state == "degraded"
    assert "below" in low.detail
    not_yet = disk_health(tmp_path / "data" / "not" / "created", min_free_bytes=1)
    assert not_yet.state == "ok"
