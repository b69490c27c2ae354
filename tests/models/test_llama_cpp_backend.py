import threading
from pathlib import Path

import pytest

from models.errors import GenerationCancelledError, ModelUnavailableError, PromptTooLongError
from models.factory import create_backend
from models.llama_cpp_backend import LlamaCppBackend
from models.packaged import resolve_packaged
from models.profiles import ModelProfile
from models.types import ChatMessage, SamplingParams


def _profile(**kw: object) -> ModelProfile:
    base: dict[str, object] = {
        "name": "tiny",
        "source": "packaged",
        "package": "smollm2-135m",
        "n_ctx": 1024,
        "max_tokens": 48,
    }
    base.update(kw)
    return ModelProfile(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppBackend:
    b = create_backend(_profile(), tmp_path_factory.mktemp("m"), n_threads=2)
    assert isinstance(b, LlamaCppBackend)
    return b


MESSAGES = [
    ChatMessage(role="system", content="You are a helpful assistant."),
    ChatMessage(role="user", content="Name three colours."),
]


def test_streams_text_then_usage(backend: LlamaCppBackend) -> None:
    chunks = list(backend.stream(MESSAGES, SamplingParams(seed=1, temperature=0.0)))
    text = "".join(c.text for c in chunks)
    assert text.strip()
    assert chunks[-1].done and chunks[-1].usage is not None
    usage = chunks[-1].usage
    assert usage.completion_tokens > 0 and usage.prompt_tokens > 0
    assert usage.completion_tokens <= 48  # profile max_tokens is enforced
    assert backend.status().state == "ready" and backend.status().loaded


def test_caller_cannot_exceed_profile_max_tokens(backend: LlamaCppBackend) -> None:
    msgs = [ChatMessage(role="user", content="Write a very long story about a dragon.")]
    chunks = list(backend.stream(msgs, SamplingParams(max_tokens=5000, temperature=0.0)))
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 48


def test_same_seed_same_reply(backend: LlamaCppBackend) -> None:
    params = SamplingParams(seed=7, temperature=0.8)
    a = "".join(c.text for c in backend.stream(MESSAGES, params))
    b = "".join(c.text for c in backend.stream(MESSAGES, params))
    assert a == b


def test_cancel_stops_generation(backend: LlamaCppBackend) -> None:
    cancel = threading.Event()
    got = []
    with pytest.raises(GenerationCancelledError):
        for chunk in backend.stream(MESSAGES, SamplingParams(temperature=0.0), cancel):
            got.append(chunk)
            cancel.set()
    # generation runs on the backend's own thread: a token or two may already be on the way
    assert 1 <= len(got) <= 4


def test_prompt_longer_than_context_is_refused(backend: LlamaCppBackend) -> None:
    huge = [ChatMessage(role="user", content="word " * 3000)]
    with pytest.raises(PromptTooLongError):
        list(backend.stream(huge))


def test_token_count_is_real(backend: LlamaCppBackend) -> None:
    assert backend.count_tokens("hello") >= 1
    assert backend.count_tokens("hello " * 50) > backend.count_tokens("hello " * 5)


def test_missing_model_file_fails_clearly(tmp_path: Path) -> None:
    b = LlamaCppBackend(_profile(), lambda: tmp_path / "absent.gguf")
    with pytest.raises(ModelUnavailableError, match="not found"):
        b.load()
    status = b.status()
    assert status.state == "failed" and status.detail and "not found" in status.detail


def test_corrupt_model_file_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a model" * 100)
    b = LlamaCppBackend(_profile(), lambda: bad)
    with pytest.raises(ModelUnavailableError, match="not a GGUF"):
        b.load()
    truncated = tmp_path / "trunc.gguf"
    real = resolve_packaged("smollm2-135m", tmp_path)
    truncated.write_bytes(real.read_bytes()[:200_000])
    b2 = LlamaCppBackend(_profile(), lambda: truncated)
    with pytest.raises(ModelUnavailableError):
        b2.load()
    assert b2.status().state == "failed"


def test_idle_unload_frees_and_reloads(tmp_path: Path) -> None:
    b = create_backend(_profile(), tmp_path, n_threads=2, warmup=False)
    b.load()
    assert b.unload_if_idle(0.0) is False  # 0 means never
    assert b.unload_if_idle(1e-6) is True
    assert b.status().state == "unloaded"
    assert "".join(c.text for c in b.stream(MESSAGES, SamplingParams(max_tokens=4)))
    assert b.status().state == "ready"


def test_all_model_work_runs_on_one_thread(tmp_path: Path) -> None:
    """llama.cpp's OpenMP teams are per calling thread; a second one halves the speed."""
    import threading as th

    b = create_backend(_profile(), tmp_path, n_threads=2, warmup=False)
    assert isinstance(b, LlamaCppBackend)
    seen: set[str] = set()
    original = b._generation

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.add(th.current_thread().name)
        yield from original(*args, **kwargs)

    b._generation = spy  # type: ignore[method-assign]
    b.load()
    results: list[str] = []

    def chat() -> None:
        results.append("".join(c.text for c in b.stream(MESSAGES, SamplingParams(max_tokens=4))))

    callers = [th.Thread(target=chat) for _ in range(3)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    chat()  # and from this thread
    assert len(results) == 4 and all(results)
    assert len(seen) == 1 and next(iter(seen)).startswith("llama-")


def test_abandoning_a_stream_stops_the_generation(backend: LlamaCppBackend) -> None:
    stream = backend.stream(MESSAGES, SamplingParams(temperature=0.0))
    first = next(stream)
    assert first.text
    stream.close()  # the caller went away
    # the backend is free again at once for the next caller
    again = list(backend.stream(MESSAGES, SamplingParams(max_tokens=3)))
    assert again[-1].done
