"""In-process llama.cpp through llama-cpp-python.

One `Llama` object per backend, used by one generation at a time (it is not thread-safe).
Reusing the same object is what makes llama.cpp keep the KV cache of the longest common
prompt prefix between turns, so the prompt builder puts stable text first. On top of that,
`PromptStateCache` (models/prompt_cache.py) saves and restores KV states: a persona's
stable prefix once for all its conversations (on disk too, so a restart starts warm), each
conversation's own state when another one takes the context, and it cuts the turn-only
note out after each reply. The prompt is rendered here (models/chat_render.py) so those
decisions see the exact tokens before anything is evaluated.

Several turns share the model (`profile.turns_at_once`): one pump on the compute thread
steps their generations one at a time. A new turn's prompt and first token come first; the
running replies then take turns in slices of `_SLICE_S`. A reply that gives up the model
parks its KV cells (`kv_state.capture`, milliseconds) and its sampler, and gets them back
where it stopped: the paused `create_completion` generator never notices. So with ten
people at once, the tenth waits for nine prompts, not for nine whole replies.

Every call that computes (load, warm-up, generation) runs on ONE dedicated thread per
backend. llama.cpp uses OpenMP, and OpenMP keeps a thread team per calling thread: once a
second thread had called into the model, generation ran at half speed on 2 cores (measured:
1.2 s -> 3.0 s for the same 160 tokens), even back on the first thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from models import kv_state
from models.backend import BackendStatus, ProfileLimits
from models.chat_render import ChatRenderer, RenderedPrompt
from models.errors import (
    GenerationCancelledError,
    LLMError,
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


# A turn has spoken once its text holds this many non-space characters. Its first token
# alone is often not seen: a space, or a lone "I" or "S" that the chat holds back while it
# could still begin a SPEAK!/IMAGE! marker (media/markers.py). Measured: a reply that gave
# up the model after its first token "I" showed nothing until every other turn had spoken.
_FIRST_WORDS_CHARS = 2
# A running reply gives the model to the next one after this long, when another one waits
# (two state swaps cost ~10-40 ms: a few per cent of a slice).
_SLICE_S = 0.5


class _Pause:
    """Time a generation spent parked: the model's silence limit does not count it."""

    def __init__(self) -> None:
        self.total = 0.0
        self._since: float | None = None

    def begin(self) -> None:
        self._since = time.perf_counter()

    def end(self) -> None:
        if self._since is not None:
            self.total += time.perf_counter() - self._since
            self._since = None

    def now(self) -> float:
        """A clock that stood still while the generation was parked."""
        return time.perf_counter() - self.total


@dataclass
class _Request:
    messages: list[ChatMessage]
    max_tokens: int
    sampling: dict[str, Any]
    stop: list[str]
    keep_state: bool = True
    json_schema: dict[str, Any] | None = None


@dataclass(eq=False)
class _Job:
    """One turn's generation as the pump sees it."""

    request: _Request
    cancel: threading.Event | None
    out: queue.Queue[StreamChunk | BaseException | None]
    gone: threading.Event = field(default_factory=threading.Event)  # its reader left
    pause: _Pause = field(default_factory=_Pause)
    steps: Generator[StreamChunk, None, None] | None = None  # made when first stepped
    parked: kv_state.KVSnapshot | None = None  # its KV while another one has the context
    sampler: Any = None  # llama-cpp-python keeps the sampler (RNG, grammar) on the Llama
    mirostat_mu: Any = None
    said: str = ""  # its text until it has spoken
    spoke: bool = False  # its first words are out
    pinned: bool = False  # could not be parked: runs to its end
    done: bool = False

    def unwanted(self) -> bool:
        return self.gone.is_set() or (self.cancel is not None and self.cancel.is_set())


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
        self._jobs: deque[_Job] = deque()  # generations that want the model, in turn order
        self._jobs_lock = threading.Lock()
        self._live_job: _Job | None = None  # whose KV the context holds (compute thread)
        self._local = threading.local()
        self._worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"llama-{profile.name}", initializer=self._mark
        )
        self.gpu_layers_used = 0

    # -- LLMBackend ------------------------------------------------------------------
    @property
    def turns_at_once(self) -> int:
        return self.profile.turns_at_once

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
            self._live_job = None
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
        job = _Job(request=request, cancel=cancel, out=queue.Queue())
        with self._jobs_lock:
            self._jobs.append(job)
        self._worker.submit(self._pump)
        try:
            while (item := job.out.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            job.gone.set()  # the caller stopped reading: stop generating

    # -- sharing the model between turns (compute thread) -------------------------------
    def _pump(self) -> None:
        """Step every generation that wants the model until none is left."""
        with self._generate_lock:
            while (job := self._next_job()) is not None:
                try:
                    if self._switch_to(job):
                        self._run_slice(job)
                except Exception as exc:  # never leave a caller waiting for ever
                    log.exception("sharing the model failed; this reply ends here")
                    self._reset_context()
                    self._drop(job, LLMError(f"the model failed mid-reply: {exc}"))

    def _next_job(self) -> _Job | None:
        """Who goes next: one that cannot be parked, then a job that must end (its reader
        left, or Stop), then a turn that has not spoken yet (oldest first), then the
        running replies in turn."""
        with self._jobs_lock:
            jobs = self._jobs
            for wanted in (
                lambda j: j.pinned,
                _Job.unwanted,
                lambda j: not j.spoke,
                lambda j: True,
            ):
                for job in jobs:
                    if wanted(job):
                        return job
            return None

    def _switch_to(self, job: _Job) -> bool:
        """Give the context to `job`, parking the generation that holds it. False when the
        job could not get its KV back (it has ended with an error)."""
        live, llm = self._live_job, self._llm
        if live is job:
            return True
        if live is not None and not live.done and llm is not None:
            try:
                self._park(live, llm)
            except RuntimeError as exc:
                log.warning("cannot park a reply, it runs to its end first: %s", exc)
                live.pinned = True
                return False
            if self._states is not None:
                self._states.forget_live()  # the parked KV is the job's, not a saved state
        self._live_job = None
        if job.parked is not None and llm is not None:
            if self._states is not None:
                self._states.hand_over(llm)
            try:
                self._unpark(job, llm)
            except RuntimeError as exc:
                log.error("a parked reply's KV could not be restored: %s", exc)
                job.parked = None
                self._drop(job, LLMError(f"the reply's model state was lost: {exc}"))
                return False
        job.pause.end()
        self._live_job = job
        return True

    def _park(self, job: _Job, llm: Any) -> None:
        """Keep what the paused generation needs: its KV cells and its sampler."""
        job.parked = kv_state.capture(llm)
        job.sampler, job.mirostat_mu = llm._sampler, llm._mirostat_mu
        job.pause.begin()

    def _unpark(self, job: _Job, llm: Any) -> None:
        """Put a parked generation back; on failure the context is left empty."""
        assert job.parked is not None
        kv_state.restore(llm, job.parked)
        llm._sampler, llm._mirostat_mu = job.sampler, job.mirostat_mu
        job.parked = job.sampler = job.mirostat_mu = None

    def _run_slice(self, job: _Job) -> None:
        """Step `job` until it ends, or until another job should have the model: a turn
        that has not spoken yet (once this one has), or any other after `_SLICE_S`."""
        if job.steps is None:
            if job.unwanted():  # left or stopped before its prompt was read
                stopped = job.cancel is not None and job.cancel.is_set()
                why = GenerationCancelledError("generation cancelled") if stopped else None
                self._end(job, why)
                return
            job.steps = self._generation(job.request, job.cancel, job.gone, job.pause)
        until = time.perf_counter() + _SLICE_S
        try:
            while True:
                chunk = next(job.steps)
                job.out.put(chunk)
                if chunk.text and not job.spoke:
                    job.said += chunk.text
                    job.spoke = len("".join(job.said.split())) >= _FIRST_WORDS_CHARS
                if job.pinned or not job.spoke or job.unwanted() or chunk.done:
                    continue
                if self._others(job, lambda j: not j.spoke or j.unwanted()):
                    break
                if time.perf_counter() >= until and self._others(job, lambda j: True):
                    break
        except StopIteration:
            self._end(job, None)
            return
        except BaseException as exc:  # re-raised in the caller's thread
            self._end(job, exc)
            return
        with self._jobs_lock:  # to the back of the line
            self._jobs.remove(job)
            self._jobs.append(job)

    def _drop(self, job: _Job, error: LLMError) -> None:
        """End a job whose KV is gone (the context is empty now): its generator's clean-up
        runs against the empty context, never against another reply's KV."""
        self._live_job = None
        if job.steps is not None:
            with contextlib.suppress(Exception):
                job.steps.close()
        self._end(job, error)

    def _others(self, job: _Job, wanted: Callable[[_Job], bool]) -> bool:
        with self._jobs_lock:
            return any(other is not job and wanted(other) for other in self._jobs)

    def _end(self, job: _Job, error: BaseException | None) -> None:
        job.done = True
        with self._jobs_lock:
            if job in self._jobs:
                self._jobs.remove(job)
        if error is not None:
            job.out.put(error)
        job.out.put(None)

    # -- internals ---------------------------------------------------------------------
    def _generate(
        self,
        request: _Request,
        cancel: threading.Event | None,
        gone: threading.Event | None,
    ) -> Iterator[StreamChunk]:
        """A whole generation, alone (already on the compute thread: warm-up, tests)."""
        with self._generate_lock:
            yield from self._generation(request, cancel, gone, None)

    def _generation(
        self,
        request: _Request,
        cancel: threading.Event | None,
        gone: threading.Event | None,
        pause: _Pause | None,
    ) -> Generator[StreamChunk, None, None]:
        """One generation; the caller holds `_generate_lock`."""
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
            stream = llm.create_completion(prompt=prompt.tokens, stop=prompt.stop or None, **common)
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
            yield from self._chunks(llm, stream, started, cached, prompt, cancel, gone, pause)
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
        pause: _Pause | None = None,
    ) -> Iterator[StreamChunk]:
        clock = pause.now if pause is not None else time.perf_counter
        deadline = started + self.profile.timeout_s
        first: float | None = None
        completion = 0
        finish: str | None = None
        for chunk in stream:
            if gone is not None and gone.is_set():
                return
            if cancel is not None and cancel.is_set():
                raise GenerationCancelledError("generation cancelled")
            if clock() > deadline:
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
                deadline = clock() + self.profile.timeout_s
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
