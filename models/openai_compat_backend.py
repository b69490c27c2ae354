"""Any OpenAI-compatible chat server (llama-server, vLLM, Ollama, llama_cpp.server).

Retries with exponential backoff only before the first token arrives: once text has been
streamed to the user, a retry would duplicate it.

Prompt caching on the server: llama-server keeps each slot's KV and reuses the longest
common prefix when a request sets `cache_prompt` (its default since 2024, sent anyway for
older builds); with several slots it picks the slot whose cached prompt is most similar
(`--slot-prompt-similarity`), so alternating conversations keep their own slots. Start it
with `--cache-reuse 256` to also reuse the history after the turn-only note (the local
backend cuts the note out instead; a server cannot be told to). Servers that reject unknown
fields (the OpenAI API itself) answer 400: with `cache_hints = "auto"` the hint is dropped
for the rest of the process and the request sent again at once. Reused tokens come back as
`Usage.cached_tokens` where the server reports them (`usage.prompt_tokens_details.
cached_tokens`, or llama-server's `timings.cache_n`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from models.backend import BackendStatus, ProfileLimits
from models.errors import (
    GenerationCancelledError,
    LLMError,
    LLMTimeoutError,
    ModelUnavailableError,
    PromptTooLongError,
)
from models.lifecycle import LoadTracker
from models.profiles import ModelProfile
from models.state_store import StateCacheStats
from models.types import ChatMessage, SamplingParams, StreamChunk, Usage

log = logging.getLogger(__name__)

# Without a tokenizer we over-estimate: ~3 characters per token holds for Russian and English.
_CHARS_PER_TOKEN = 3.0


class OpenAICompatBackend(ProfileLimits):
    """`LLMBackend` over HTTP (`POST {url}/chat/completions`, SSE streaming)."""

    def __init__(
        self,
        profile: ModelProfile,
        client: httpx.Client | None = None,
        backoff_s: float = 0.5,
    ) -> None:
        assert profile.url is not None
        self.profile = profile
        self._base = profile.url.rstrip("/")
        self._client = client or httpx.Client(timeout=httpx.Timeout(profile.timeout_s))
        self._backoff_s = backoff_s
        self._tracker = LoadTracker()
        self.retries_done = 0
        self.cache_hints = profile.cache_hints != "off"
        # A configured but unset API key variable is a failure from the start, visible in
        # /health and the preload log line, not a 401 at the first chat.
        if problem := profile.unset_api_key():
            self._tracker.state = "failed"
            self._tracker.detail = problem

    def _require_api_key(self) -> None:
        if problem := self.profile.unset_api_key():
            self._tracker.state = "failed"
            self._tracker.detail = problem
            raise ModelUnavailableError(problem)

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.profile.api_key_env) if self.profile.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else {}

    def status(self) -> BackendStatus:
        return BackendStatus(
            backend="openai-compatible",
            model=self.profile.api_model or self.profile.name,
            state=self._tracker.state,
            loaded=self._tracker.state == "ready",
            detail=self._tracker.detail,
            n_ctx=self.n_ctx,
            max_tokens=self.max_tokens,
        )

    def load(self) -> None:
        """Check that the server answers (`GET /models`)."""
        self._require_api_key()
        try:
            response = self._client.get(f"{self._base}/models", headers=self._headers())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self._tracker.state = "failed"
            self._tracker.detail = f"server {self._base} unreachable: {exc}"
            raise ModelUnavailableError(self._tracker.detail) from exc
        self._tracker.state = "ready"
        self._tracker.detail = None

    def unload(self) -> None:
        self._tracker.state = "unloaded"

    def unload_if_idle(self, idle_s: float) -> bool:
        return False  # nothing held locally

    def warm_prefix(self, messages: list[ChatMessage]) -> bool:
        """The server keeps its own prompt cache; there is no state to prepare here."""
        return False

    def invalidate(self, messages: list[ChatMessage] | None = None) -> int:
        return 0

    def cache_stats(self) -> StateCacheStats:
        return StateCacheStats(enabled=False)

    def count_tokens(self, text: str) -> int:
        return int(len(text) / _CHARS_PER_TOKEN) + 1

    def count_messages(self, messages: list[ChatMessage]) -> int:
        return sum(self.count_tokens(m.content) + 8 for m in messages)

    def stream(
        self,
        messages: list[ChatMessage],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamChunk]:
        self._require_api_key()
        params = params or SamplingParams()
        max_tokens = min(params.max_tokens or self.max_tokens, self.max_tokens)
        estimate = self.count_messages(messages)
        if estimate + max_tokens > self.n_ctx:
            raise PromptTooLongError(
                f"prompt needs ~{estimate} tokens + {max_tokens}, context holds {self.n_ctx}"
            )
        s = self.profile.sampling
        body: dict[str, Any] = {
            "model": self.profile.api_model or self.profile.name,
            "messages": [m.wire() for m in messages],
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": s.temperature if params.temperature is None else params.temperature,
            "top_p": s.top_p if params.top_p is None else params.top_p,
        }
        if params.stop:
            body["stop"] = params.stop
        if params.seed is not None:
            body["seed"] = params.seed
        if params.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": params.json_schema},
            }
        attempt = 0
        while True:
            started = time.perf_counter()
            produced = False
            if self.cache_hints:
                body["cache_prompt"] = True
            else:
                body.pop("cache_prompt", None)
            try:
                for chunk in self._stream_once(body, started, cancel):
                    produced = produced or bool(chunk.text)
                    yield chunk
                self._tracker.state = "ready"
                self._tracker.detail = None
                return
            except _HintRejectedError as exc:
                log.warning("server rejects the cache_prompt hint; not sending it again: %s", exc)
                self.cache_hints = False
                continue
            except (httpx.TransportError, _RetryableStatus) as exc:
                if produced or attempt >= self.profile.retries:
                    self._tracker.state = "failed"
                    self._tracker.detail = str(exc)
                    if isinstance(exc, httpx.TimeoutException):
                        raise LLMTimeoutError(
                            f"server did not answer within {self.profile.timeout_s:.0f} s"
                        ) from exc
                    raise ModelUnavailableError(f"server {self._base} failed: {exc}") from exc
                attempt += 1
                self.retries_done += 1
                delay = self._backoff_s * 2 ** (attempt - 1)
                log.warning("LLM server error (%s), retry %d in %.1f s", exc, attempt, delay)
                time.sleep(delay)

    def _stream_once(
        self, body: dict[str, Any], started: float, cancel: threading.Event | None
    ) -> Iterator[StreamChunk]:
        deadline = started + self.profile.timeout_s
        first: float | None = None
        completion = 0
        finish: str | None = None
        usage_prompt = 0
        usage_cached = 0
        url = f"{self._base}/chat/completions"
        with self._client.stream("POST", url, json=body, headers=self._headers()) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise _RetryableStatus(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                response.read()
                if (
                    response.status_code in (400, 422)
                    and "cache_prompt" in body
                    and self.profile.cache_hints == "auto"
                    and _mentions_unknown_field(response.text)
                ):
                    raise _HintRejectedError(f"HTTP {response.status_code} {response.text[:200]}")
                raise LLMError(
                    f"server rejected the request: HTTP {response.status_code} "
                    f"{response.text[:300]}"
                )
            for line in response.iter_lines():
                if cancel is not None and cancel.is_set():
                    raise GenerationCancelledError("generation cancelled")
                if time.perf_counter() > deadline:
                    raise LLMTimeoutError(f"server took longer than {self.profile.timeout_s} s")
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    event = json.loads(data)
                except json.JSONDecodeError:
                    continue
                if event.get("usage"):
                    usage_prompt = int(event["usage"].get("prompt_tokens") or 0)
                    details = event["usage"].get("prompt_tokens_details") or {}
                    usage_cached = int(details.get("cached_tokens") or usage_cached)
                if isinstance(event.get("timings"), dict):  # llama-server
                    usage_cached = int(event["timings"].get("cache_n") or usage_cached)
                choices = event.get("choices") or []
                if not choices:
                    continue
                finish = choices[0].get("finish_reason") or finish
                text = (choices[0].get("delta") or {}).get("content") or ""
                if text:
                    if first is None:
                        first = time.perf_counter() - started
                    completion += 1
                    deadline = time.perf_counter() + self.profile.timeout_s  # from the last token
                    yield StreamChunk(text=text, model=self.name)
        usage = Usage(
            prompt_tokens=usage_prompt,
            cached_tokens=usage_cached,
            completion_tokens=completion,
            time_to_first_token_s=first,
            total_s=time.perf_counter() - started,
        )
        yield StreamChunk(done=True, finish_reason=finish or "stop", usage=usage, model=self.name)


class _RetryableStatus(Exception):
    """A 5xx or 429 answer: worth another try."""


class _HintRejectedError(Exception):
    """The server refused the request because of our cache hint: send it without."""


def _mentions_unknown_field(text: str) -> bool:
    lowered = text.lower()
    return "cache_prompt" in lowered or any(
        word in lowered for word in ("unrecognized", "unknown", "extra", "not permitted")
    )
