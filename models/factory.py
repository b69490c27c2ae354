"""Build the `LLMBackend` a model profile asks for."""

from __future__ import annotations

from pathlib import Path

from models.llama_cpp_backend import LlamaCppBackend
from models.openai_compat_backend import OpenAICompatBackend
from models.packaged import ProgressFn, resolve_packaged
from models.profiles import ModelProfile


def create_backend(
    profile: ModelProfile,
    models_dir: Path,
    n_threads: int | None = None,
    warmup: bool = True,
    progress: ProgressFn | None = None,
    state_dir: Path | None = None,
) -> LlamaCppBackend | OpenAICompatBackend:
    """One real implementation per source kind; the profile decides which.

    `state_dir` holds saved KV states (default `<models_dir>/kv-states`; the profile's
    `state_cache.dir` wins over both).
    """
    if profile.source == "openai":
        return OpenAICompatBackend(profile)

    def resolve() -> Path:
        if profile.source == "gguf":
            assert profile.path is not None
            return profile.path.expanduser()
        assert profile.package is not None
        return resolve_packaged(profile.package, models_dir, progress)

    return LlamaCppBackend(
        profile,
        resolve,
        n_threads=n_threads,
        warmup=warmup,
        state_dir=state_dir or models_dir / "kv-states",
    )
