"""What is in a llama.cpp context's KV cache, and moving it in and out.

Works on the one sequence (0) that llama-cpp-python decodes into, with llama.cpp's per-sequence
state API (`llama_state_seq_get_data` / `_set_data`). `Llama.save_state()` is not used: it
also copies the logits buffer (n_batch x n_vocab floats, ~300 MB for Qwen's 152k vocabulary),
which made a save take 1.26 s; the KV cells of a 2,000-token prompt take ~57 MB and a few
milliseconds.

`Llama` keeps its own record of what the KV holds (`input_ids[:n_tokens]`) and compares each
new prompt with it; every function here keeps that record equal to the cells, so
llama-cpp-python's own prefix matching stays correct after a restore or a cut.

All of these must run on the backend's compute thread.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Tokens = npt.NDArray[np.int32]
_SEQ = 0


@dataclass(frozen=True)
class KVSnapshot:
    """The KV cells of a token sequence, as llama.cpp serialises them."""

    tokens: Tokens
    data: npt.NDArray[np.uint8]

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes + self.tokens.nbytes)


def live_tokens(llm: Any) -> Tokens:
    """The tokens whose KV the context holds now (a copy)."""
    return np.asarray(llm.input_ids[: llm.n_tokens], dtype=np.int32).copy()


def common_prefix(a: Tokens | list[int], b: Tokens | list[int]) -> int:
    """Length of the longest common prefix of two token sequences."""
    x = np.asarray(a, dtype=np.int32)
    y = np.asarray(b, dtype=np.int32)
    n = min(len(x), len(y))
    if n == 0:
        return 0
    diff = np.flatnonzero(x[:n] != y[:n])
    return int(diff[0]) if diff.size else n


def capture(llm: Any) -> KVSnapshot:
    """Copy the context's KV cells and the tokens they hold."""
    import llama_cpp

    ctx = llm.ctx
    size = int(llama_cpp.llama_state_seq_get_size(ctx, _SEQ))
    data = np.empty(size, dtype=np.uint8)
    written = int(llama_cpp.llama_state_seq_get_data(ctx, _ptr(data), size, _SEQ))
    if written <= 0 or written > size:
        raise RuntimeError(f"llama_state_seq_get_data wrote {written} of {size} bytes")
    return KVSnapshot(tokens=live_tokens(llm), data=data[:written])


def restore(llm: Any, snapshot: KVSnapshot) -> None:
    """Replace the context's KV with `snapshot`; on failure the context is left empty.

    The next `generate()` re-evaluates at least the prompt's last token, so the logits (not
    part of the snapshot) are always fresh before anything is sampled.
    """
    import llama_cpp

    clear(llm)
    n = len(snapshot.tokens)
    if n == 0:
        return
    if n > llm.n_ctx():
        raise RuntimeError(f"state holds {n} tokens, the context only {llm.n_ctx()}")
    data = np.ascontiguousarray(snapshot.data)
    read = int(llama_cpp.llama_state_seq_set_data(llm.ctx, _ptr(data), data.size, _SEQ))
    if read == 0:
        clear(llm)
        raise RuntimeError("llama_state_seq_set_data refused the state")
    llm.input_ids[:n] = snapshot.tokens
    llm.n_tokens = n
    llm._requires_eval = True  # logits are stale: never sample before a decode


def clear(llm: Any) -> None:
    """Empty the KV cache and the record of it."""
    import llama_cpp

    llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(llm.ctx), True)
    llm.n_tokens = 0
    llm._requires_eval = True


def truncate(llm: Any, n: int) -> None:
    """Keep only the first `n` tokens' cells (a cheap cut at the end)."""
    import llama_cpp

    n = max(0, min(n, int(llm.n_tokens)))
    if n == 0:
        clear(llm)
        return
    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), -1, n, -1)
    llm.n_tokens = n
    llm._requires_eval = True


def extend(llm: Any, tokens: Tokens | list[int], upto: int) -> int:
    """Make the KV hold exactly `tokens[:upto]`, evaluating only what is missing.

    Returns how many tokens were evaluated.
    """
    target = np.asarray(tokens[:upto], dtype=np.int32)
    keep = common_prefix(live_tokens(llm), target)
    if keep == len(target) and keep == llm.n_tokens:
        return 0
    if keep == len(target):  # all there, plus more: drop the rest
        truncate(llm, keep)
        return 0
    truncate(llm, keep)
    llm.eval(target[keep:].tolist())
    return len(target) - keep


def cut(llm: Any, start: int, end: int) -> bool:
    """Remove tokens [start, end) from the KV and shift the rest back (RoPE re-rotation).

    What follows the cut keeps the KV it was computed with (it had seen the removed text):
    an approximation llama-server's `--cache-reuse` makes too. The shift is applied at the
    next decode, and a state saved before that would hold unrotated keys, so the last token
    is decoded again right away. Returns False (KV unchanged) where the model cannot shift.
    """
    import llama_cpp

    n = int(llm.n_tokens)
    start, end = max(0, start), min(end, n)
    if end <= start:
        return True
    mem = llama_cpp.llama_get_memory(llm.ctx)
    if not llama_cpp.llama_memory_can_shift(mem):
        return False
    if end >= n:  # nothing after the cut: a plain truncation
        truncate(llm, start)
        return True
    width = end - start
    if not llama_cpp.llama_memory_seq_rm(mem, _SEQ, start, end):
        return False
    llama_cpp.llama_memory_seq_add(mem, _SEQ, end, -1, -width)
    ids = llm.input_ids
    ids[start : n - width] = ids[end:n].copy()
    new_n = n - width
    last = int(ids[new_n - 1])
    llm.n_tokens = new_n - 1
    llama_cpp.llama_memory_seq_rm(mem, _SEQ, new_n - 1, -1)
    llm.eval([last])  # applies the pending shift; the logits are now current
    return True


def _ptr(array: npt.NDArray[np.uint8]) -> Any:
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
