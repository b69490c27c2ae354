"""The real embedding engines: multilingual e5 (default) and English MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from memory.embedders import E5Embedder, EmbedderUnavailable, MiniLMEmbedder


def test_e5_is_lazy_and_reports_status() -> None:
    emb = E5Embedder()
    assert emb.status().state == "unloaded"
    vectors = emb.embed_passages(["раз", "two", "drei"])
    assert emb.status().state == "ready"
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    emb.unload()
    assert emb.status().state == "unloaded"


def test_e5_matches_russian_question_to_russian_fact(e5: E5Embedder) -> None:
    passages = e5.embed_passages(
        [
            "Мою собаку зовут Бим, ей три года.",
            "Я работаю бухгалтером в банке.",
            "Завтра будет дождь.",
        ]
    )
    q = e5.embed_queries(["Как зовут мою собаку?"])[0]
    assert int(np.argmax(passages @ q)) == 0


def test_e5_is_cross_lingual(e5: E5Embedder) -> None:
    passages = e5.embed_passages(["My sister lives in Novosibirsk.", "I like green tea."])
    q = e5.embed_queries(["Где живёт моя сестра?"])[0]
    assert int(np.argmax(passages @ q)) == 0


def test_e5_batches_match_single_calls(e5: E5Embedder) -> None:
    texts = [f"sentence number {i} about topic {i % 3}" for i in range(40)]
    batched = e5.embed_passages(texts)
    single = np.vstack([e5.embed_passages([t]) for t in texts[:3]])
    assert np.allclose(batched[:3], single, atol=1e-3)


def test_embedder_failure_is_reported_with_reason() -> None:
    class Broken(E5Embedder):
        def _load(self):
            raise FileNotFoundError("weights missing")

    emb = Broken()
    with pytest.raises(EmbedderUnavailable, match="weights missing"):
        emb.embed_queries(["x"])
    status = emb.status()
    assert status.state == "failed" and "weights missing" in (status.detail or "")


@pytest.mark.slow
def test_minilm_loads_offline_and_ranks_english() -> None:
    emb = MiniLMEmbedder()
    passages = emb.embed_passages(["My cat is called Tom.", "The stock market fell today."])
    q = emb.embed_queries(["What is my cat's name?"])[0]
    assert emb.status().state == "ready"
    assert passages.shape == (2, 384)
    assert int(np.argmax(passages @ q)) == 0
