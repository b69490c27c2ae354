"""Turns that share the real tiny model (issue 12, 10 concurrent new conversations): a new
turn's prompt and first token come before the running replies go on, the running replies
take turns, and a reply that was parked and resumed is token for token the reply it would
have been alone, greedy or seeded sampling alike. The scheduler side (how many turns are
let in) is tested in tests/app/test_scheduling.py.
"""

from __future__ import annotations

import itertools
import queue
import threading
from pathlib import Path
from typing import Any

import pytest

from models import llama_cpp_backend
from models.errors import LLMError
from models.llama_cpp_backend import LlamaCppBackend
from models.types import ChatMessage, SamplingParams, StreamChunk
from tests.models.test_prompt_cache import GREEDY, _backend, _conversation, _reply

SEEDED = SamplingParams(temperature=0.9, top_k=40, top_p=0.95, seed=1234, max_tokens=16)
LONG = SamplingParams(temperature=0.0, max_tokens=16)


class _Witness:
    """Records the order in which the pump hands out chunks, across all turns."""

    def __init__(self) -> None:
        self.order: list[tuple[int, str]] = []
        self.texts: list[str] = []
        self._lock = threading.Lock()

    def queue_class(self) -> type[queue.Queue[Any]]:
        witness = self

        class Recorded(queue.Queue[Any]):
            def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
                if isinstance(item, StreamChunk):
                    with witness._lock:
                        witness.order.append((id(self), "done" if item.done else "text"))
                        witness.texts.append(item.text)
                super().put(item, block, timeout)

        return Recorded


def _alone(backend: LlamaCppBackend, messages: list[ChatMessage], params: SamplingParams) -> str:
    backend.load()
    assert backend._llm is not None
    backend._llm.reset()
    return "".join(c.text for c in backend.stream(messages, params))


def _outcomes(
    backend: LlamaCppBackend, prompts: list[tuple[list[ChatMessage], SamplingParams]]
) -> list[str | LLMError]:
    """Every prompt streamed at once from its own thread: each reply's text, or its error."""
    outcomes: list[str | LLMError] = [""] * len(prompts)
    start = threading.Barrier(len(prompts))

    def run(i: int) -> None:
        messages, params = prompts[i]
        start.wait()
        try:
            outcomes[i] = "".join(c.text for c in backend.stream(messages, params))
        except LLMError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(thread.is_alive() for thread in threads)  # nobody hangs
    return outcomes


def _together(
    backend: LlamaCppBackend, prompts: list[tuple[list[ChatMessage], SamplingParams]]
) -> list[str]:
    outcomes = _outcomes(backend, prompts)
    texts = [o for o in outcomes if isinstance(o, str)]
    assert len(texts) == len(outcomes), outcomes
    return texts


def _two_turns(
    tmp_path: Path, alone: LlamaCppBackend
) -> tuple[LlamaCppBackend, list[tuple[list[ChatMessage], SamplingParams]], list[str]]:
    """A loaded backend with states, two prompts, and the reply each gets alone."""
    prompts = [(_conversation("Alice", 1), LONG), (_conversation("Bob", 2), LONG)]
    expected = [_alone(alone, messages, params) for messages, params in prompts]
    shared = _backend(tmp_path / "kv")
    shared.load()
    return shared, prompts, expected


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppBackend:
    """The same model with no saved states: every prompt evaluated from scratch, alone."""
    return _backend(tmp_path_factory.mktemp("alone") / "kv", enabled=False)


def test_replies_that_share_the_model_are_the_replies_each_gets_alone(
    tmp_path: Path, alone: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llama_cpp_backend, "_SLICE_S", 0.0)  # swap after every token
    witness = _Witness()
    monkeypatch.setattr(llama_cpp_backend.queue, "Queue", witness.queue_class())
    prompts = [
        (_conversation("Alice", 2), LONG),
        (_conversation("Bob", 1), SEEDED),
        (_conversation("Carol", 3), LONG),
        (_conversation("Dan", 0), SEEDED),
    ]
    expected = [_alone(alone, messages, params) for messages, params in prompts]
    witness.order.clear()
    witness.texts.clear()

    shared = _backend(tmp_path / "kv")
    shared.load()
    got = _together(shared, prompts)

    assert got == expected
    assert all(len(text) > 8 for text in got)  # real replies, not empty ones
    order = witness.order
    turns = list(dict.fromkeys(turn for turn, _ in order))
    assert len(turns) == 4
    first_text = {t: next(i for i, (u, k) in enumerate(order) if u == t) for t in turns}
    first_done = min(i for i, (_, kind) in enumerate(order) if kind == "done")
    # every turn had spoken before any reply was finished: first tokens first
    assert max(first_text.values()) < first_done
    # a turn gave the model away only once its first words were out (a lone letter or a
    # space may be all its first token shows)
    for i, ((turn, _), (after, _)) in enumerate(itertools.pairwise(order)):
        if turn != after:
            said = "".join(witness.texts[j] for j in range(i + 1) if order[j][0] == turn)
            assert len("".join(said.split())) >= 2, said
    # and the replies took turns: the chunk order switches turn many times
    switches = sum(1 for a, b in itertools.pairwise(order) if a[0] != b[0])
    assert switches >= 8


def test_after_sharing_each_conversation_goes_on_from_its_own_saved_state(
    tmp_path: Path, alone: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llama_cpp_backend, "_SLICE_S", 0.0)
    shared = _backend(tmp_path / "kv")
    shared.load()
    alice, bob = _conversation("Alice", 2), _conversation("Bob", 2)
    replies = _together(shared, [(alice, GREEDY), (bob, GREEDY)])
    for history, reply in ((alice, replies[0]), (bob, replies[1])):
        follow = [
            *history,
            ChatMessage(role="assistant", content=reply),
            ChatMessage(role="user", content="Thank you. Anything else?"),
        ]
        text, usage = _reply(shared, follow)
        assert text == _alone(alone, follow, GREEDY)  # no stale or foreign KV
    # the second follow-up found its own conversation saved (the first had the context)
    assert shared.cache_stats().restores_ram >= 1
    assert usage.cached_tokens >= usage.prompt_tokens - 24


def test_a_reply_that_cannot_be_parked_runs_to_its_end_and_nobody_hangs(
    tmp_path: Path, alone: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: LlamaCppBackend, job: Any, llm: Any) -> None:
        raise RuntimeError("llama_state_seq_get_data wrote 0 bytes")

    monkeypatch.setattr(llama_cpp_backend, "_SLICE_S", 0.0)
    monkeypatch.setattr(LlamaCppBackend, "_park", refuse)
    shared, prompts, expected = _two_turns(tmp_path, alone)
    assert _together(shared, prompts) == expected  # one after the other, both whole


def test_a_parked_reply_whose_state_is_lost_ends_with_a_clear_error(
    tmp_path: Path, alone: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_unpark = LlamaCppBackend._unpark
    calls: list[int] = []

    def lose_the_first(self: LlamaCppBackend, job: Any, llm: Any) -> None:
        calls.append(1)
        if len(calls) == 1:  # as kv_state.restore fails: the context is left empty
            llama_cpp_backend.kv_state.clear(llm)
            raise RuntimeError("llama_state_seq_set_data refused the state")
        real_unpark(self, job, llm)

    monkeypatch.setattr(llama_cpp_backend, "_SLICE_S", 0.0)
    monkeypatch.setattr(LlamaCppBackend, "_unpark", lose_the_first)
    shared, prompts, expected = _two_turns(tmp_path, alone)
    outcomes = _outcomes(shared, prompts)
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and "state was lost" in str(failed[0])
    # the other reply is whole and right, and the model serves the next turn
    whole = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, str)]
    assert len(whole) == 1 and whole[0][1] == expected[whole[0][0]]
    assert _reply(shared, prompts[0][0])[0] == _alone(alone, prompts[0][0], GREEDY)
