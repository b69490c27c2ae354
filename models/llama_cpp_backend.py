"""In-process llama.cpp through llama-cpp-python.

One `Llama` object per backend, used by one generation at a time (it is not thread-safe).
Reusing the same object is what makes llama.cpp keep the KV cache of the longest common
prompt prefix between turns, so the prompt builder puts stable text first. On top of that,
`PromptStateCache` (models/prompt_cache.py) saves and restores KV states: a persona's
stable prefix once for all its conversations (on disk too, so a restart starts warm), each
conversation's own state when another one takes the context, and it cuts the turn-only
note out after each reply. The prompt is rendered here (models/chat_render.py) so those
decisions see the exact tokens before anything is evaluated.

Every call that computes (load, warm-up, generation) runs on ONE dedicated thread per
backend. llama.cpp uses OpenMP, and OpenMP keeps a thread team per calling thread: once a
second thread had called into the model, generation ran at half speed on 2 cores (measured:
1.2 s -> 3.0 s for the same 160 tokens), even back on the first thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from models.backend import BackendStatus, ProfileLimits
from models.chat_render import ChatRenderer, RenderedPrompt
from models.errors import (
    GenerationCancelledError,
    LLMTimeoutError,
    ModelUnavailableError,
    PromptTooLongError,
)
from models.lifecycle import LoadTracker
from models.profiles import ModelProfile
from models.prompt_cache import PromptStateCache
from models.state_store import StateCacheStats
from models.types import ChatMessage, SamplingParams, StreamChunk, Usage

log = logging.getLogger(__name__)

PathResolver = Callable[[], Path]
T = TypeVar("T")

# Tokens a chat template adds around each message (role markers); a safe over-estimate.
_TEMPLATE_OVERHEAD_PER_MESSAGE = 8


@dataclass
class _Request:
    messages: list[ChatMessage]
    max_tokens: int
    sampling: dict[str, Any]
    stop: list[str]
    keep_state: bool = True
    json_schema: dict[str, Any] | None = None


class LlamaCppBackend(ProfileLimits):
    """`LLMBackend` over a local GGUF file."""

    def __init__(
        self,
        profile: ModelProfile,
        resolve_path: PathResolver,
        n_threads: int | None = None,
        warmup: bool = True,
        state_dir: Path | None = None,
    ) -> None:
        self.profile = profile
        self._resolve_path = resolve_path
        self._n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._warmup = warmup
        self._state_dir = profile.state_cache.dir or state_dir
        self._llm: Any = None
        self._renderer: ChatRenderer | None = None
        self._states: PromptStateCache | None = None
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
            state_cache=self.cache_stats(),
        )

    def cache_stats(self) -> StateCacheStats:
        """RAM and disk held by saved KV states, and how often they saved work."""
        states = self._states
        if states is None:
            return StateCacheStats(enabled=False)
        return states.stats()

    def sync_states(self) -> None:
        """Wait until every state being written is on disk (tests, the bench, shutdown)."""
        states = self._states
        if states is not None:
            states.store.wait()

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
            states, self._states = self._states, None
            self._renderer = None
            if states is not None:
                try:
                    states.flush(llm)  # the live conversation and RAM states survive
                except Exception:  # a full disk must not stop the unload
                    log.exception("could not save KV states of %s", self.name)
                states.close()
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
        self._ensure_loaded()
        max_tokens = min(params.max_tokens or self.max_tokens, self.max_tokens)
        prompt_estimate = self.count_messages(messages)
        if prompt_estimate + max_tokens > self.n_ctx:
            raise PromptTooLongError(
                f"prompt needs ~{prompt_estimate} tokens + {max_tokens} for the reply, "
                f"but the context holds {self.n_ctx}"
            )
        sampling = self.profile.sampling
        request = _Request(
            messages=list(messages),
            max_tokens=max_tokens,
            sampling={
                "temperature": _pick(params.temperature, sampling.temperature),
                "top_p": _pick(params.top_p, sampling.top_p),
                "top_k": _pick(params.top_k, sampling.top_k),
                "repeat_penalty": _pick(params.repeat_penalty, sampling.repeat_penalty),
                **({"seed": params.seed} if params.seed is not None else {}),
            },
            stop=list(params.stop),
            keep_state=params.keep_state,
            json_schema=params.json_schema,
        )
        yield from self._relay(request, cancel)

    def warm_prefix(self, messages: list[ChatMessage]) -> bool:
        """Evaluate and save the KV state of a stable prompt prefix (a persona's system
        message and example dialogue), unless a saved one exists; load it into RAM if it
        is only on disk. Blocking, on the compute thread: call it from a background job,
        when no user is waiting. Returns False where states are off or the prefix is short.
        """
        self._ensure_loaded()
        return self._on_worker(self._warm_now, list(messages))

    def _warm_now(self, messages: list[ChatMessage]) -> bool:
        with self._generate_lock:
            llm, states, renderer = self._llm, self._states, self._renderer
            if llm is None or states is None or renderer is None or not messages:
                return False
            return states.warm(llm, renderer.render_head(messages))

    def invalidate(self, messages: list[ChatMessage] | None = None) -> int:
        """Forget saved states that start with these messages (all states without them).

        States are keyed by their exact tokens, so an edited persona can never reuse an
        old state; this only frees the RAM and disk the old ones hold. Returns how many.
        """
        if self._llm is None:
            return 0
        return self._on_worker(self._invalidate_now, list(messages or []))

    def _invalidate_now(self, messages: list[ChatMessage]) -> int:
        states, renderer = self._states, self._renderer
        if states is None or renderer is None:
            return 0
        return states.invalidate(renderer.render_head(messages) if messages else [])

    def _relay(self, request: _Request, cancel: threading.Event | None) -> Iterator[StreamChunk]:
        """Generate on the compute thread; hand each chunk to the caller's thread."""
        if getattr(self._local, "is_worker", False):
            yield from self._generate(request, cancel, None)
            return
        chunks: queue.Queue[StreamChunk | BaseException | None] = queue.Queue()
        gone = threading.Event()  # the caller stopped reading: stop generating

        def produce() -> None:
            try:
                for chunk in self._generate(request, cancel, gone):
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
        request: _Request,
        cancel: threading.Event | None,
        gone: threading.Event | None,
    ) -> Iterator[StreamChunk]:
        with self._generate_lock:
            llm = self._llm
            if llm is None:  # unloaded between the request and its turn
                self._load_now()
                llm = self._llm
            started = time.perf_counter()
            prompt: RenderedPrompt | None = None
            cached = 0
            common = {"max_tokens": request.max_tokens, "stream": True, **request.sampling}
            if request.json_schema is not None and self._renderer is not None:
                # the reply is constrained to the schema by a grammar made from it
                common["grammar"] = _grammar(request.json_schema)
            if self._renderer is not None:
                prompt = self._renderer.render(request.messages, request.stop)
                if len(prompt.tokens) + request.max_tokens > self.n_ctx:
                    raise PromptTooLongError(
                        f"prompt has {len(prompt.tokens)} tokens + {request.max_tokens} for "
                        f"the reply, but the context holds {self.n_ctx}"
                    )
                if self._states is not None:
                    cached = self._states.prepare(llm, prompt)
                stream = llm.create_completion(
                    prompt=prompt.tokens, stop=prompt.stop or None, **common
                )
            else:
                if request.json_schema is not None:
                    common["response_format"] = {
                        "type": "json_object",
                        "schema": request.json_schema,
                    }
                stream = llm.create_chat_completion(
                    messages=[m.wire() for m in request.messages],
                    stop=request.stop or None,
                    **common,
                )
            try:
                yield from self._chunks(llm, stream, started, cached, prompt, cancel, gone)
            finally:
                if prompt is not None and self._states is not None:
                    if request.keep_state:
                        self._states.finish(llm, prompt)
                        self._worker.submit(self._settle)
                    else:  # background work: its tokens are never saved as a state
                        self._states.forget_live()

    def _chunks(
        self,
        llm: Any,
        stream: Iterator[dict[str, Any]],
        started: float,
        cached: int,
        prompt: RenderedPrompt | None,
        cancel: threading.Event | None,
        gone: threading.Event | None,
    ) -> Iterator[StreamChunk]:
        deadline = started + self.profile.timeout_s
        first: float | None = None
        completion = 0
        finish: str | None = None
        for chunk in stream:
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
            text = choice.get("text") or (choice.get("delta") or {}).get("content") or ""
            if text:
                if first is None:
                    first = time.perf_counter() - started
                completion += 1
                # The time limit counts from the last token: a long reply that keeps
                # coming is not cut, a model that falls silent is.
                deadline = time.perf_counter() + self.profile.timeout_s
                yield StreamChunk(text=text, model=self.name)
        self._tracker.touch()
        if prompt is not None:
            prompt_tokens = len(prompt.tokens)
        else:
            prompt_tokens = max(0, int(getattr(llm, "n_tokens", 0)) - completion)
        usage = Usage(
            prompt_tokens=prompt_tokens,
            cached_tokens=cached,
            completion_tokens=completion,
            time_to_first_token_s=first,
            total_s=time.perf_counter() - started,
        )
        yield StreamChunk(done=True, finish_reason=finish or "stop", usage=usage, model=self.name)

    def _settle(self) -> None:
        """Cut the last turn's note out of the KV while nobody waits (compute thread)."""
        with self._generate_lock:
            if self._llm is not None and self._states is not None:
                try:
                    self._states.settle(self._llm)
                except Exception:
                    log.exception("KV cut failed; starting from an empty context")
                    self._reset_context()

    def _reset_context(self) -> None:
        if self._llm is not None:
            from models import kv_state

            kv_state.clear(self._llm)
        if self._states is not None:
            self._states.forget_live()

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
        self._renderer = ChatRenderer.for_model(llm, self.profile.chat_format)
        settings = self.profile.state_cache
        if settings.enabled and self._renderer is not None:
            self._states = PromptStateCache(settings, self._states_dir(path), _model_id(path, self))
        return llm

    def _states_dir(self, path: Path) -> Path | None:
        """`<state dir>/<profile>-<model id>`; folders of older ids (another build of
        llama.cpp, a replaced GGUF) hold states nobody can use: they are removed."""
        if self._state_dir is None:
            return None
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.profile.name)
        folder = self._state_dir / f"{name}-{_model_id(path, self)}"
        try:
            for old in self._state_dir.glob(f"{name}-*"):
                if (
                    old != folder
                    and old.is_dir()
                    and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{16}}", old.name)
                ):
                    shutil.rmtree(old, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("KV states stay in RAM only: cannot use %s: %s", folder, exc)
            return None
        return folder

    def _fail(self, detail: str) -> None:
        self._tracker.state = "failed"
        self._tracker.detail = detail
        log.error("model %s failed to load: %s", self.name, detail)


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def _model_id(path: Path, backend: LlamaCppBackend) -> str:
    """What a saved KV state depends on besides its tokens: the weights file (name, size,
    modification time), llama.cpp's build and the context size."""
    import llama_cpp

    stat = path.stat()
    ident = "|".join(
        str(x)
        for x in (llama_cpp.__version__, path.name, stat.st_size, stat.st_mtime_ns, backend.n_ctx)
    )
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def _grammar(schema: dict[str, Any]) -> Any:
    """A llama.cpp grammar that only admits JSON matching `schema` (for the completion path;
    the chat path passes it as `response_format`)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
