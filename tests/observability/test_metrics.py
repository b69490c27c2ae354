import math

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from app.observability.metrics import Metrics
from app.observability.middleware import HttpMetricsMiddleware


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    body, _ = metrics.render()
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    raise AssertionError(f"no sample {name} {labels}")


def test_two_instances_do_not_collide() -> None:
    first, second = Metrics(), Metrics()
    first.observe_llm("ok", latency_s=1.0)
    assert sample(first, "llm_requests_total", outcome="ok") == 1
    with pytest.raises(AssertionError):
        sample(second, "llm_requests_total", outcome="ok")


def test_render_contains_every_metric_name() -> None:
    metrics = Metrics()
    metrics.observe_llm("ok", latency_s=2.0, ttft_s=0.5, completion_tokens=30)
    metrics.observe_retrieval(0.02)
    metrics.set_memory_index_size(12)
    metrics.set_queue_depth("tts", 3)
    metrics.observe_queue_wait("tts", 0.7)
    metrics.cache_hit("tts")
    metrics.cache_miss("tts")
    metrics.consolidation_run("ok")
    metrics.observe_http("GET", "/api/x/{id}", 200, 0.01)
    body, content_type = metrics.render()
    text = body.decode()
    assert content_type.startswith("text/plain")
    for name in (
        "llm_requests_total",
        "llm_latency_seconds_bucket",
        "llm_time_to_first_token_seconds_count",
        "llm_tokens_per_second_sum",
        "llm_completion_tokens_total",
        "retrieval_latency_seconds_count",
        "memory_index_size",
        'queue_depth{kind="tts"}',
        'queue_wait_seconds_count{kind="tts"}',
        'cache_hits_total{cache="tts"}',
        'cache_misses_total{cache="tts"}',
        'consolidation_runs_total{outcome="ok"}',
        'http_requests_total{method="GET",route="/api/x/{id}",status="200"}',
        "http_request_latency_seconds_bucket",
    ):
        assert name in text, name
    assert sample(metrics, "llm_tokens_per_second_sum") == pytest.approx(30 / 1.5)
    assert sample(metrics, "llm_completion_tokens_total") == 30


def test_render_negotiates_openmetrics() -> None:
    metrics = Metrics()
    body, content_type = metrics.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_label_values_are_bounded() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError):
        metrics.observe_llm("weird")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        metrics.consolidation_run("maybe")  # type: ignore[arg-type]


def test_summary_numbers() -> None:
    metrics = Metrics()
    assert metrics.summary()["llm"]["latency_avg_s"] is None
    for latency in (0.3, 0.3, 0.3, 3.0):
        metrics.observe_llm("ok", latency_s=latency, ttft_s=0.1, completion_tokens=10)
    metrics.observe_llm("timeout", latency_s=60.0)
    metrics.observe_llm("retry")
    metrics.cache_hit("embed")
    metrics.cache_hit("embed")
    metrics.cache_hit("tts")
    metrics.cache_miss("tts")
    metrics.set_queue_depth("ocr", 2)
    metrics.observe_queue_wait("ocr", 1.0)
    metrics.observe_queue_wait("ocr", 3.0)
    metrics.set_memory_index_size(99)
    metrics.consolidation_run("error")
    metrics.observe_http("GET", "/a", 200, 0.01)
    metrics.observe_http("GET", "/a", 503, 0.02)
    s = metrics.summary()
    assert s["llm"]["requests"] == {"ok": 4, "error": 0, "retry": 1, "timeout": 1}
    assert s["llm"]["latency_count"] == 5
    assert s["llm"]["latency_avg_s"] == pytest.approx((0.9 + 3.0 + 60.0) / 5)
    assert 0.25 <= s["llm"]["latency_p50_s"] <= 0.5
    assert 30 <= s["llm"]["latency_p95_s"] <= 60
    assert s["llm"]["completion_tokens"] == 40
    assert s["llm"]["tokens_per_second_avg"] == pytest.approx((50 + 50 + 50 + 10 / 2.9) / 4)
    assert s["cache"]["hits"] == 3 and s["cache"]["misses"] == 1
    assert s["cache"]["hit_ratio"] == pytest.approx(0.75)
    assert s["cache"]["by_cache"]["embed"]["hit_ratio"] == 1.0
    assert s["queues"] == {"ocr": {"depth": 2, "wait_avg_s": 2.0}}
    assert s["memory_index_size"] == 99
    assert s["consolidation"] == {"error": 1}
    assert s["http"]["requests"] == 2 and s["http"]["errors_5xx"] == 1
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in s["llm"].values())


def build_app(metrics: Metrics) -> TestClient:
    app = FastAPI()

    @app.get("/api/chats/{chat_id}")
    def chat(chat_id: str) -> dict[str, str]:
        return {"id": chat_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/metrics")
    def metrics_endpoint() -> PlainTextResponse:
        body, content_type = metrics.render()
        return PlainTextResponse(body, media_type=content_type)

    async def inner(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("inner")

    router = APIRouter()

    @router.get("/users/{user_id}/notes")
    def notes(user_id: str) -> list[str]:
        return []

    nested = APIRouter()

    @nested.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {}

    router.include_router(nested, prefix="/inner")
    app.include_router(router, prefix="/api/v1")

    sub = FastAPI()
    sub.router.routes.append(Route("/files/{name}", inner))
    app.router.routes.append(Mount("/ui", app=sub))
    app.router.routes.append(Mount("/static", app=PlainTextResponse("static")))
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    return TestClient(app, raise_server_exceptions=False)


def test_http_middleware_labels_by_route_template() -> None:
    metrics = Metrics()
    client = build_app(metrics)
    for i in range(5):
        assert client.get(f"/api/chats/c{i}").status_code == 200
    for i in range(3):
        assert client.get(f"/random/scan/{i}").status_code == 404
    assert client.post("/api/chats/x").status_code == 405
    assert client.get("/boom").status_code == 500
    assert client.get("/ui/files/a.png").text == "inner"
    assert client.get("/static/anything/here").status_code == 200
    assert client.get("/api/v1/users/u1/notes").status_code == 200
    assert client.get("/api/v1/users/u2/notes").status_code == 200
    assert client.get("/api/v1/inner/items/i9").status_code == 200
    assert client.get("/ui/nothing-here").status_code == 404
    assert sample(metrics, "http_requests_total", route="/api/chats/{chat_id}", status="200") == 5
    assert sample(metrics, "http_requests_total", route="<unmatched>", status="404") == 3
    assert sample(metrics, "http_requests_total", route="/api/chats/{chat_id}", status="405") == 1
    assert sample(metrics, "http_requests_total", route="/boom", status="500") == 1
    assert sample(metrics, "http_requests_total", route="/ui/files/{name}", status="200") == 1
    assert sample(metrics, "http_requests_total", route="/static/{path}", status="200") == 1
    assert (
        sample(metrics, "http_requests_total", route="/api/v1/users/{user_id}/notes", status="200")
        == 2
    )
    assert sample(metrics, "http_requests_total", route="/api/v1/inner/items/{item_id}") == 1
    assert sample(metrics, "http_requests_total", route="/ui/{path}", status="404") == 1
    text = client.get("/metrics").text
    assert 'route="/api/chats/{chat_id}"' in text
    assert "c3" not in text and "/random" not in text and "u1" not in text
    assert "http_request_latency_seconds_bucket" in text
