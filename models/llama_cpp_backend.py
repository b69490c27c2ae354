"""In-process llama.cpp through llama-cpp-python.

One `Llama` object per backend, used by one generation at a time (it is not thread-safe).
Reusing the same object is what makes llama.cpp keep the KV cache of the longest common
prompt prefix between turns, so the prompt builder puts stable text first.

Every call that computes (load, warm-up, generation) runs on ONE dedicated thread per
backend. llama.cpp uses OpenMP, and OpenMP keeps a thread team per calling thread: once a
second thread had called into the model, generation ran at half speed on 2 cores (measured:
1.2 s -> 3.0 s for the same 160 tokens), even back on the first thread.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from models.backend import BackendStatus, ProfileLimits
from models.errors import (
    GenerationCancelledError,
    LLMTimeoutError,
    ModelUnavailableError,
    PromptTooLongError,
)
from models.lifecycle import LoadTracker
from models.profiles import ModelProfile
from models.types import ChatMessage, SamplingParams, StreamChunk, Usage

log = logging.getLogger(__name__)

PathResolver = Callable[[], Path]
T = TypeVar("T")

# Tokens a chat template adds around each message (role markers); a safe over-estimate.
_TEMPLATE_OVERHEAD_PER_MESSAGE = 8


class LlamaCppBackend(ProfileLimits):
    """`LLMBackend` over a local GGUF file."""

    def __init__(
        self,
        profile: ModelProfile,
        resolve_path: PathResolver,
        n_threads: int | None = None,
        warmup: bool = True,
    ) -> None:
        self.profile = profile
        self._resolve_path = resolve_path
        self._n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._warmup = warmup
        self._llm: Any = None
        self._tracker = LoadTracker()
        self._generate_lock = threading.Lock()
        self._local = threading.local()
        self._worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"llama-{profile.name}", initializer=self._mark
        )
        self.gpu_layers_used = 0

    # -- LLMBackend ------------------------------------------------------------------
    def status(self) -> BackendStatus:
        return BackendStatus(
            backend="llama.cpp",
            model=self.profile.name,
            state=self._tracker.state,
            loaded=self._tracker.state == "ready",
            detail=self._tracker.detail,
            n_ctx=self.n_ctx,
            max_tokens=self.max_tokens,
        )

    def _mark(self) -> None:
        self._local.is_worker = True

    def _on_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` on the backend's compute thread (directly if already there)."""
        if getattr(self._local, "is_worker", False):
            return fn(*args)
        return self._worker.submit(fn, *args).result()

    def load(self) -> None:
        """Load the model if needed (idempotent, thread-safe)."""
        if self._llm is None:
            self._on_worker(self._load_now)

    def _load_now(self) -> None:
        with self._tracker.lock:
            if self._llm is not None:
                return
            self._tracker.state = "loading"
            self._tracker.detail = None
            try:
                self._llm = self._open()
            except ModelUnavailableError as exc:
                self._fail(str(exc))
                raise
            except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on bad files
                self._fail(f"cannot load model: {exc}")
                raise ModelUnavailableError(self._tracker.detail or str(exc)) from exc
            self._tracker.state = "ready"
            self._tracker.touch()

    def unload(self) -> None:
        self._on_worker(self._unload_now)

    def _unload_now(self) -> None:
        with self._generate_lock, self._tracker.lock:
            llm, self._llm = self._llm, None
            if llm is not None:
                llm.close()
            self._tracker.state = "unloaded"
            self._tracker.detail = None

    def unload_if_idle(self, idle_s: float) -> bool:
        """Free the model's memory after `idle_s` seconds without use (0 = never)."""
        if idle_s <= 0 or self._llm is None or self._tracker.idle_for() < idle_s:
            return False
        if not self._generate_lock.acquire(blocking=False):
            return False  # generating right now: not idle
        self._generate_lock.release()
        log.info("unloading idle model %s", self.profile.name)
        self.unload()
        return True

    def count_tokens(self, text: str) -> int:
        llm = self._ensure_loaded()
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_messages(self, messages: list[ChatMessage]) -> int:
        total = sum(self.count_tokens(m.content) for m in messages)
        return total + _TEMPLATE_OVERHEAD_PER_MESSAGE * len(messages)

    def stream(
        self,
        messages: list[ChatMessage],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamChunk]:
        params = params or SamplingParams()
        llm = self._ensure_loaded()
        max_tokens = min(params.max_tokens or self.max_tokens, self.max_tokens)
        prompt_estimate = self.count_messages(messages)
        if prompt_estimate + max_tokens > self.n_ctx:
            raise PromptTooLongError(
                f"prompt needs ~{prompt_estimate} tokens + {max_tokens} for the reply, "
                f"but the context holds {self.n_ctx}"
            )
        sampling = self.profile.sampling
        kwargs: dict[str, Any] = {
            "messages": [m.model_dump() for m in messages],
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": _pick(params.temperature, sampling.temperature),
            "top_p": _pick(params.top_p, sampling.top_p),
            "top_k": _pick(params.top_k, sampling.top_k),
            "repeat_penalty": _pick(params.repeat_penalty, sampling.repeat_penalty),
            "stop": params.stop or None,
        }
        if params.seed is not None:
            kwargs["seed"] = params.seed
        yield from self._relay(llm, kwargs, cancel)

    def _relay(
        self, llm: Any, kwargs: dict[str, Any], cancel: threading.Event | None
    ) -> Iterator[StreamChunk]:
        """Generate on the compute thread; hand each chunk to the caller's thread."""
        if getattr(self._local, "is_worker", False):
            yield from self._generate(llm, kwargs, cancel, None)
            return
        chunks: queue.Queue[StreamChunk | BaseException | None] = queue.Queue()
        gone = threading.Event()  # the caller stopped reading: stop generating

        def produce() -> None:
            try:
                for chunk in self._generate(llm, kwargs, cancel, gone):
                    chunks.put(chunk)
            except BaseException as exc:  # re-raised in the caller's thread
                chunks.put(exc)
            finally:
                chunks.put(None)

        self._worker.submit(produce)
        try:
            while (item := chunks.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            gone.set()

    # -- internals ---------------------------------------------------------------------
    def _generate(
        self,
        llm: Any,
        kwargs: dict[str, Any],
        cancel: threading.Event | None,
        gone: threading.Event | None,
    ) -> Iterator[StreamChunk]:
        with self._generate_lock:
            started = time.perf_counter()
            deadline = started + self.profile.timeout_s
            first: float | None = None
            completion = 0
            finish: str | None = None
            for chunk in llm.create_chat_completion(**kwargs):
                if gone is not None and gone.is_set():
                    return
                if cancel is not None and cancel.is_set():
                    raise GenerationCancelledError("generation cancelled")
                if time.perf_counter() > deadline:
                    raise LLMTimeoutError(
                        f"model '{self.name}' took longer than {self.profile.timeout_s:.0f} s"
                    )
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason") or finish
                text = choice.get("delta", {}).get("content") or ""
                if text:
                    if first is None:
                        first = time.perf_counter() - started
                    completion += 1
                    # The time limit counts from the last token: a long reply that keeps
                    # coming is not cut, a model that falls silent is.
                    deadline = time.perf_counter() + self.profile.timeout_s
                    yield StreamChunk(text=text, model=self.name)
            self._tracker.touch()
            total_tokens = int(getattr(llm, "n_tokens", 0))
            usage = Usage(
                prompt_tokens=max(0, total_tokens - completion),
                completion_tokens=completion,
                time_to_first_token_s=first,
                total_s=time.perf_counter() - started,
            )
            yield StreamChunk(
                done=True, finish_reason=finish or "stop", usage=usage, model=self.name
            )

    def _ensure_loaded(self) -> Any:
        if self._llm is None:
            self.load()
        self._tracker.touch()
        return self._llm

    def _open(self) -> Any:
        path = self._resolve_path()
        if not path.is_file():
            raise ModelUnavailableError(f"model file not found: {path}")
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelUnavailableError(f"not a GGUF model file (corrupt?): {path}")
        import llama_cpp  # heavy import, only when a model is really needed

        gpu_layers = self.profile.gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        self.gpu_layers_used = gpu_layers
        log.info(
            "loading %s from %s (threads=%d, gpu_layers=%d)",
            self.name,
            path,
            self._n_threads,
            gpu_layers,
        )
        llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=self.n_ctx,
            n_threads=self._n_threads,
            n_batch=self.profile.n_batch,
            n_gpu_layers=gpu_layers,
            chat_format=self.profile.chat_format,
            verbose=False,
        )
        if self._warmup:
            # The first calls in a fresh process are much slower: pay that at load time.
            llm.create_chat_completion(
                messages=[{"role": "user", "content": "Hi"}], max_tokens=1, temperature=0.0
            )
        return llm

    def _fail(self, detail: str) -> None:
        self._tracker.state = "failed"
        self._tracker.detail = detail
        log.error("model %s failed to load: %s", self.name, detail)


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value
