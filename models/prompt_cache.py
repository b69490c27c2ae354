"""Which KV state each prompt starts from, and which states are worth keeping.

llama-cpp-python alone reuses the longest common prefix with whatever its one context holds
right now. That breaks whenever two conversations alternate (the other one's tokens are in
the way), on every restart, and every turn (the state note sits before the newest message
and is not kept). Here, before each prompt:

1. the live context and every saved state (RAM or disk) are compared with the prompt's
   tokens; the one sharing the longest prefix wins, a saved one only if it saves at least
   `min_restore_tokens` (a RAM restore costs milliseconds, evaluating Qwen-1.5B on 2 cores
   ~7 ms per token);
2. before the live KV is replaced or truncated, it is saved as a conversation state if it
   holds enough tokens that no saved state has (so switching back is a restore);
3. if the prompt marks a stable prefix (`ChatMessage.cache == "prefix"`) that has no state
   yet, the prefix is evaluated first and saved on its own (RAM + disk): every later
   conversation with that persona, in this process or after a restart, starts there.

After the reply, the turn-only note (`cache == "volatile"`) is cut out of the KV (see
`kv_state.cut`), so the next turn of the same conversation evaluates only its new tokens.

Every method runs on the backend's compute thread.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from models import kv_state as kv
from models.chat_render import RenderedPrompt
from models.profiles import StateCacheSettings
from models.state_store import StateCacheStats, StateStore, StateUnavailableError

log = logging.getLogger(__name__)
_MB = 1024 * 1024


class PromptStateCache:
    def __init__(self, settings: StateCacheSettings, directory: Path | None, model_id: str):
        self.settings = settings
        self.directory = directory if settings.disk_mb > 0 else None
        self.store = StateStore(
            self.directory,
            model_id,
            ram_bytes=settings.ram_mb * _MB,
            prefix_ram_bytes=settings.prefix_ram_mb * _MB,
            disk_bytes=settings.disk_mb * _MB,
        )
        self._dirty = False  # the live KV holds tokens that no saved state has
        self._pending_cuts: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._counts = {
            "restores_ram": 0,
            "restores_disk": 0,
            "saves": 0,
            "prefixes_made": 0,
            "tokens_reused": 0,
            "tokens_evaluated": 0,
            "cuts": 0,
        }

    # -- per prompt ----------------------------------------------------------------------
    def prepare(self, llm: Any, prompt: RenderedPrompt) -> int:
        """Put the best available state in the context; returns how many prompt tokens
        came from a cache (the rest is evaluated now)."""
        self.settle(llm)
        tokens = np.asarray(prompt.tokens, dtype=np.int32)
        live = kv.live_tokens(llm)
        start = kv.common_prefix(live, tokens)
        entry, shared = self.store.best(tokens)
        if entry is not None and shared >= start + self.settings.min_restore_tokens:
            self._keep_live(llm, live)
            from_disk = entry.data is None
            try:
                kv.restore(llm, self.store.load(entry))
                start = shared
                self._count("restores_disk" if from_disk else "restores_ram")
            except (StateUnavailableError, RuntimeError) as exc:
                log.warning("saved KV state not usable, evaluating instead: %s", exc)
                self.store.discard(entry.key)
                kv.clear(llm)
                start = 0
            self._dirty = False
        elif len(live) - start >= self.settings.min_restore_tokens:
            self._keep_live(llm, live)  # the prompt will overwrite a part worth keeping
        end = prompt.prefix_end
        made = 0
        if (
            end is not None
            and self.settings.min_prefix_tokens <= end < len(tokens)
            and start <= end
            and self.store.find(tokens[:end]) is None
        ):
            made = kv.extend(llm, tokens, end)
            self._save(llm, "prefix")
            start = end
        reused = min(start, len(tokens) - 1)  # generate() always decodes the last token
        self._count("tokens_evaluated", made + len(tokens) - reused)
        self._count("tokens_reused", reused - made)
        return reused - made

    def finish(self, llm: Any, prompt: RenderedPrompt) -> None:
        """After a reply: the KV holds new tokens; the turn-only note goes at the next chance."""
        self._dirty = True
        if self.settings.cut_volatile:
            self._pending_cuts = sorted(prompt.volatile, reverse=True)

    def settle(self, llm: Any) -> None:
        """Apply the cuts left by the last reply (called first by everything here)."""
        cuts, self._pending_cuts = self._pending_cuts, []
        for start, end in cuts:  # last first: earlier spans keep their positions
            if start >= llm.n_tokens:
                continue
            if end > llm.n_tokens:
                kv.truncate(llm, start)
            elif kv.cut(llm, start, end):
                self._count("cuts")

    # -- prefixes ------------------------------------------------------------------------
    def warm(self, llm: Any, prefix: list[int]) -> bool:
        """Make sure a saved state of exactly `prefix` exists and is in RAM."""
        self.settle(llm)
        tokens = np.asarray(prefix, dtype=np.int32)
        if len(tokens) < self.settings.min_prefix_tokens:
            return False
        entry = self.store.find(tokens)
        if entry is not None:
            try:
                self.store.load(entry)
                return True
            except StateUnavailableError as exc:
                log.warning("saved prefix state lost, making it again: %s", exc)
        self._keep_live(llm, kv.live_tokens(llm))
        self._count("tokens_evaluated", kv.extend(llm, tokens, len(tokens)))
        self._save(llm, "prefix")
        return True

    def invalidate(self, head: list[int]) -> int:
        """Forget saved states that start with `head` (all of them when it is empty)."""
        return self.store.discard_matching(np.asarray(head, dtype=np.int32))

    # -- lifecycle -----------------------------------------------------------------------
    def flush(self, llm: Any | None) -> None:
        """Before unloading: keep the live conversation and write RAM states to disk."""
        if llm is not None:
            self.settle(llm)
            self._keep_live(llm, kv.live_tokens(llm))
        self.store.flush()
        self._dirty = False

    def hand_over(self, llm: Any) -> None:
        """Another generation's parked KV is about to replace the live one: apply the last
        reply's cuts and keep its conversation state first (what `prepare` does for a new
        prompt before it restores a saved state)."""
        self.settle(llm)
        self._keep_live(llm, kv.live_tokens(llm))
        self._dirty = False

    def forget_live(self) -> None:
        """The context is gone or was reset outside this cache."""
        self._dirty = False
        self._pending_cuts = []

    def close(self) -> None:
        self.store.close()

    def stats(self) -> StateCacheStats:
        with self._lock:
            counts = dict(self._counts)
        return StateCacheStats(
            enabled=True,
            on_disk=self.directory is not None,
            **self.store.stats(),
            **counts,
        )

    # -- internals -----------------------------------------------------------------------
    def _keep_live(self, llm: Any, live: kv.Tokens) -> None:
        """Save the live KV before it is replaced, if it holds enough that nothing else has."""
        if not self._dirty or len(live) < self.settings.min_restore_tokens:
            return
        _, covered = self.store.best(live)
        if len(live) - covered < self.settings.min_restore_tokens:
            return
        self._save(llm, "conversation")

    def _save(self, llm: Any, kind: str) -> None:
        snapshot = kv.capture(llm)
        self.store.put(snapshot, "prefix" if kind == "prefix" else "conversation")
        self._dirty = False
        self._count("prefixes_made" if kind == "prefix" else "saves")

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n
