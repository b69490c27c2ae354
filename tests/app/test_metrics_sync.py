"""Media and memory statistics reach Prometheus when /metrics is read."""

import asyncio

from app.composition import Services


def _value(text: str, prefix: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.rsplit(" ", 1)[1])


def test_cache_queue_and_index_figures_reach_prometheus(services: Services) -> None:
    async def speak_twice() -> None:
        await services.media.tts("Metrics, please.")
        await services.media.tts("Metrics, please.")  # the second is a cache hit

    asyncio.run(speak_twice())
    services.metrics_sync.sync()
    services.metrics_sync.sync()  # a second read adds nothing twice
    text = services.metrics.render(None)[0].decode()
    assert _value(text, 'cache_hits_total{cache="artifacts"}') == 1.0
    assert _value(text, 'cache_misses_total{cache="artifacts"}') == 1.0
    assert _value(text, 'queue_wait_seconds_count{kind="tts"}') == 1.0
    assert _value(text, 'queue_depth{kind="tts"}') == 0.0
    assert _value(text, "memory_index_size") == 0.0
