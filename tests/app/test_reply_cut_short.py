"""Issue 11 item 4: a long reply is not thrown away at the model's time limit.

The limit counts from the last token (a reply that keeps coming is never cut); a reply cut
short (timeout, crash mid-way) is kept, stored and marked; a turn with no reply at all still
shows as its own turn, never merged with the next message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.ui.chat_render import to_chatbot
from config.settings import Settings
from models.errors import LLMTimeoutError
from models.llama_cpp_backend import LlamaCppBackend
from models.profiles import ModelProfile
from models.types import StreamChunk
from tests.app.fakes import ScriptedBackend, services_with


def test_a_reply_cut_short_by_the_time_limit_is_kept_and_marked(settings: Settings) -> None:
    backend = ScriptedBackend(words=["Once", " upon", " a time"], error=LLMTimeoutError("slow"))
    services = services_with(settings, backend)
    final = asyncio.run(services.chat.complete("u1", "Tell me a long story"))
    assert final.type == "done" and final.stopped and final.reply == "Once upon a time"
    msgs = services.chat.messages.list("u1", str(final.conversation_id))
    assert [(m.role, m.content) for m in msgs] == [
        ("user", "Tell me a long story"),
        ("assistant", "Once upon a time"),
    ]
    assert msgs[1].meta["cut_short"] == "timeout"
    shown = to_chatbot(msgs, "en", lambda _: None)
    assert shown[-1]["content"] == "Once upon a time *(reply cut short)*"
    assert "(ответ прерван)" in to_chatbot(msgs, "ru", lambda _: None)[-1]["content"]
    services.close()


def test_a_turn_without_a_reply_never_merges_with_the_next_message(settings: Settings) -> None:
    backend = ScriptedBackend(words=[], error=LLMTimeoutError("slow"))
    services = services_with(settings, backend)
    failed = asyncio.run(services.chat.complete("u1", "First question"))
    assert failed.type == "error"
    backend.error, backend.words = None, ["An answer"]
    ok = asyncio.run(
        services.chat.complete("u1", "Second question", conversation_id=failed.conversation_id)
    )
    msgs = services.chat.messages.list("u1", str(ok.conversation_id))
    assert [m.role for m in msgs] == ["user", "user", "assistant"]
    shown = to_chatbot(msgs, "en", lambda _: None)
    assert [m["role"] for m in shown] == ["user", "assistant", "user", "assistant"]
    assert "no reply" in shown[1]["content"]
    services.close()


class _SlowLlm:
    """Stands in for `llama_cpp.Llama` to time the stream: tokens `gaps_s` apart."""

    n_tokens = 10

    def __init__(self, gaps_s: list[float]) -> None:
        self.gaps_s = gaps_s

    def create_chat_completion(self, **_: Any) -> Iterator[dict[str, Any]]:
        for i, gap in enumerate(self.gaps_s):
            time.sleep(gap)
            yield {"choices": [{"delta": {"content": f" t{i}"}, "finish_reason": None}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


def _backend(tmp_path: Path, timeout_s: float) -> LlamaCppBackend:
    profile = ModelProfile(
        name="tiny", source="packaged", package="smollm2-135m", timeout_s=timeout_s
    )
    return LlamaCppBackend(profile, lambda: tmp_path / "unused.gguf")


def _relay(backend: LlamaCppBackend, llm: _SlowLlm) -> Iterator[StreamChunk]:
    """The backend's token loop over a stream, as `_generate` drives it."""
    return backend._chunks(
        llm, llm.create_chat_completion(), time.perf_counter(), 0, None, None, None
    )


def test_the_model_time_limit_counts_from_the_last_token(tmp_path: Path) -> None:
    backend = _backend(tmp_path, timeout_s=0.6)
    # 8 tokens 0.2 s apart: 1.6 s in all, well past the limit, but never 0.6 s of silence.
    chunks = list(_relay(backend, _SlowLlm([0.2] * 8)))
    assert "".join(c.text for c in chunks if c.text) == "".join(f" t{i}" for i in range(8))
    assert chunks[-1].done
    # A model that falls silent for longer than the limit is cut.
    with pytest.raises(LLMTimeoutError):
        list(_relay(backend, _SlowLlm([0.1, 0.1, 1.0, 0.1])))
