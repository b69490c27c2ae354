"""Prometheus metrics owned by one `Metrics` object (its own registry, not the global one).

Why a private registry: the global one makes a second app instance (tests, reloads) fail on
duplicate metric names. The composition root creates one `Metrics`, passes it to the LLM
layer, retriever, queues and caches, and serves `render()` at GET /metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.samples import Sample

from models.types import Usage

LlmOutcome = Literal["ok", "error", "retry", "timeout"]
ConsolidationOutcome = Literal["ok", "error", "skipped"]
_LLM_OUTCOMES: tuple[str, ...] = get_args(LlmOutcome)
_CONSOLIDATION_OUTCOMES: tuple[str, ...] = get_args(ConsolidationOutcome)

_LLM_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
_TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30)
_TPS_BUCKETS = (1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 400)
_FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300)
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every IKAR metric, with small recording methods that keep label values bounded."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.llm_requests = Counter("llm_requests", "LLM calls by outcome", ["outcome"], registry=r)
        self.llm_latency = Histogram(
            "llm_latency_seconds",
            "Whole LLM call duration",
            buckets=_LLM_LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_ttft = Histogram(
            "llm_time_to_first_token_seconds",
            "Time to the first streamed token",
            buckets=_TTFT_BUCKETS,
            registry=r,
        )
        self.llm_tokens_per_second = Histogram(
            "llm_tokens_per_second",
            "Generation speed of completed calls",
            buckets=_TPS_BUCKETS,
            registry=r,
        )
        self.llm_completion_tokens = Counter(
            "llm_completion_tokens", "Generated tokens", registry=r
        )
        self.retrieval_latency = Histogram(
            "retrieval_latency_seconds",
            "Memory retrieval duration",
            buckets=_FAST_BUCKETS,
            registry=r,
        )
        self.memory_index_size = Gauge(
            "memory_index_size", "Items in the memory vector index", registry=r
        )
        self.queue_depth = Gauge("queue_depth", "Jobs waiting per queue", ["kind"], registry=r)
        self.queue_wait = Histogram(
            "queue_wait_seconds",
            "Time a job waited before it started",
            ["kind"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.cache_hits = Counter("cache_hits", "Cache hits", ["cache"], registry=r)
        self.cache_misses = Counter("cache_misses", "Cache misses", ["cache"], registry=r)
        self.consolidation_runs = Counter(
            "consolidation_runs",
            "Memory consolidation runs by outcome",
            ["outcome"],
            registry=r,
        )
        self.http_requests = Counter(
            "http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "http_request_latency_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )

    # --- recording -------------------------------------------------------------------------

    def observe_llm(
        self,
        outcome: LlmOutcome,
        latency_s: float | None = None,
        ttft_s: float | None = None,
        completion_tokens: int = 0,
    ) -> None:
        """Record one LLM call; tokens/s is derived from tokens and generation time."""
        if outcome not in _LLM_OUTCOMES:
            raise ValueError(f"unknown LLM outcome {outcome!r}")
        self.llm_requests.labels(outcome=outcome).inc()
        if latency_s is not None:
            self.llm_latency.observe(latency_s)
        if ttft_s is not None:
            self.llm_ttft.observe(ttft_s)
        if completion_tokens > 0:
            self.llm_completion_tokens.inc(completion_tokens)
            if outcome == "ok" and latency_s is not None:
                generating = latency_s - (ttft_s or 0.0)
                if generating > 0:
                    self.llm_tokens_per_second.observe(completion_tokens / generating)

    def observe_generation(self, outcome: str, usage: Usage | None) -> None:
        """One chat turn's model call: `outcome` is "ok" or the turn's failure code."""
        mapped: LlmOutcome = (
            "ok" if outcome == "ok" else "timeout" if outcome == "timeout" else "error"
        )
        if usage is None:
            self.observe_llm(mapped)
            return
        self.observe_llm(
            mapped,
            latency_s=usage.total_s,
            ttft_s=usage.time_to_first_token_s,
            completion_tokens=usage.completion_tokens,
        )

    def observe_retrieval(self, latency_s: float) -> None:
        self.retrieval_latency.observe(latency_s)

    def set_memory_index_size(self, size: int) -> None:
        self.memory_index_size.set(size)

    def set_queue_depth(self, kind: str, depth: int) -> None:
        """`kind` is a queue name from code (tts, stt, ocr, image), never user input."""
        self.queue_depth.labels(kind=kind).set(depth)

    def observe_queue_wait(self, kind: str, wait_s: float) -> None:
        self.queue_wait.labels(kind=kind).observe(wait_s)

    def cache_hit(self, cache: str, count: int = 1) -> None:
        self.cache_hits.labels(cache=cache).inc(count)

    def cache_miss(self, cache: str, count: int = 1) -> None:
        self.cache_misses.labels(cache=cache).inc(count)

    def consolidation_run(self, outcome: ConsolidationOutcome) -> None:
        if outcome not in _CONSOLIDATION_OUTCOMES:
            raise ValueError(f"unknown consolidation outcome {outcome!r}")
        self.consolidation_runs.labels(outcome=outcome).inc()

    def observe_http(self, method: str, route: str, status: int, latency_s: float) -> None:
        """`route` must be a route template (/api/chats/{chat_id}), never the raw path."""
        self.http_requests.labels(method=method, route=route, status=str(status)).inc()
        self.http_latency.labels(method=method, route=route).observe(latency_s)

    # --- reading ---------------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition body and its content type, negotiated from an Accept header."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def summary(self) -> dict[str, Any]:
        """Key numbers for the admin tab (averages and approximate percentiles)."""
        hits = _by_label(self.cache_hits, "_total", "cache")
        misses = _by_label(self.cache_misses, "_total", "cache")
        caches = {
            name: {
                "hits": hits.get(name, 0.0),
                "misses": misses.get(name, 0.0),
                "hit_ratio": _ratio(hits.get(name, 0.0), misses.get(name, 0.0)),
            }
            for name in sorted(hits.keys() | misses.keys())
        }
        total_hits, total_misses = sum(hits.values()), sum(misses.values())
        http = _samples(self.http_requests)
        http_total = sum(s.value for s in http if s.name.endswith("_total"))
        http_5xx = sum(
            s.value
            for s in http
            if s.name.endswith("_total") and s.labels.get("status", "").startswith("5")
        )
        depths = _by_label(self.queue_depth, "", "kind")
        waits = _histogram_by_label(self.queue_wait, "kind")
        requests = _by_label(self.llm_requests, "_total", "outcome")
        return {
            "llm": {
                "requests": {o: requests.get(o, 0.0) for o in _LLM_OUTCOMES},
                **_histogram_stats(self.llm_latency, "latency"),
                **_histogram_stats(self.llm_ttft, "ttft"),
                "tokens_per_second_avg": _histogram_stats(self.llm_tokens_per_second, "tps")[
                    "tps_avg_s"
                ],
                "completion_tokens": _single(self.llm_completion_tokens, "_total"),
            },
            "retrieval": _histogram_stats(self.retrieval_latency, "latency"),
            "memory_index_size": _single(self.memory_index_size, ""),
            "queues": {
                kind: {"depth": depths.get(kind, 0.0), "wait_avg_s": waits.get(kind)}
                for kind in sorted(depths.keys() | waits.keys())
            },
            "cache": {
                "hits": total_hits,
                "misses": total_misses,
                "hit_ratio": _ratio(total_hits, total_misses),
                "by_cache": caches,
            },
            "consolidation": _by_label(self.consolidation_runs, "_total", "outcome"),
            "http": {
                "requests": http_total,
                "errors_5xx": http_5xx,
                **_histogram_stats(self.http_latency, "latency"),
            },
        }


def _samples(metric: Counter | Gauge | Histogram) -> list[Sample]:
    return [s for family in metric.collect() for s in family.samples]


def _single(metric: Counter | Gauge, suffix: str) -> float:
    return sum(s.value for s in _samples(metric) if s.name == metric._name + suffix)


def _by_label(metric: Counter | Gauge, suffix: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in _samples(metric):
        if s.name == metric._name + suffix and label in s.labels:
            out[s.labels[label]] = out.get(s.labels[label], 0.0) + s.value
    return out


def _ratio(hits: float, misses: float) -> float | None:
    return hits / (hits + misses) if hits + misses else None


def _histogram_by_label(metric: Histogram, label: str) -> dict[str, float | None]:
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for s in _samples(metric):
        key = s.labels.get(label)
        if key is None:
            continue
        if s.name.endswith("_sum"):
            sums[key] = sums.get(key, 0.0) + s.value
        elif s.name.endswith("_count"):
            counts[key] = counts.get(key, 0.0) + s.value
    return {k: (sums.get(k, 0.0) / c if c else None) for k, c in counts.items()}


def _histogram_stats(metric: Histogram, prefix: str) -> dict[str, float | None]:
    """count, avg, p50, p95 over all label sets (percentiles interpolated from buckets)."""
    total = count = 0.0
    buckets: dict[float, float] = {}
    for s in _samples(metric):
        if s.name.endswith("_sum"):
            total += s.value
        elif s.name.endswith("_count"):
            count += s.value
        elif s.name.endswith("_bucket"):
            bound = float(s.labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + s.value
    ordered = sorted(buckets.items())
    return {
        f"{prefix}_count": count,
        f"{prefix}_avg_s": total / count if count else None,
        f"{prefix}_p50_s": _quantile(0.5, ordered, count),
        f"{prefix}_p95_s": _quantile(0.95, ordered, count),
    }


def _quantile(q: float, buckets: Iterable[tuple[float, float]], count: float) -> float | None:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket."""
    if not count:
        return None
    rank = q * count
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: report its bound
            width = cumulative - lower_count
            fraction = (rank - lower_count) / width if width else 1.0
            return lower_bound + (bound - lower_bound) * fraction
        lower_bound, lower_count = bound, cumulative
    return lower_bound
