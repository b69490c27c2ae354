"""Model profiles: what a model is, where it comes from, and the limits it runs under."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator


class SamplingDefaults(BaseModel):
    temperature: float = Field(default=0.7, ge=0.0, le=5.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    top_k: int = Field(default=40, ge=0)
    repeat_penalty: float = Field(default=1.1, gt=0.0)


class StateCacheSettings(BaseModel):
    """Saved KV states of a local model (see models/prompt_cache.py).

    Sizes are per model. Qwen2.5-1.5B needs ~28 KB per token, so a ~2,000-token persona
    prefix takes ~57 MB and a 4,000-token conversation ~115 MB.
    """

    enabled: bool = True
    ram_mb: int = Field(default=512, ge=0, description="Conversation states kept in RAM.")
    prefix_ram_mb: int = Field(default=256, ge=0, description="Persona prefix states in RAM.")
    disk_mb: int = Field(default=2048, ge=0, description="All states on disk (0 = none).")
    dir: Path | None = Field(
        default=None, description="Where states are saved; default <models_dir>/kv-states."
    )
    min_restore_tokens: int = Field(
        default=32, ge=1, description="Restore a saved state only if it saves this many tokens."
    )
    min_prefix_tokens: int = Field(
        default=64, ge=1, description="Shorter stable prefixes get no state of their own."
    )
    cut_volatile: bool = Field(
        default=True, description="Cut the turn-only note out of the KV after each reply."
    )


class ModelProfile(BaseModel):
    """One entry of config/models.toml."""

    name: str
    source: Literal["packaged", "gguf", "openai"]
    display_name: str | None = None
    package: str | None = None
    path: Path | None = None
    url: str | None = None
    api_model: str | None = None
    api_key_env: str | None = Field(
        default=None, description="Name of an env variable holding the server's API key."
    )
    chat_format: str | None = Field(
        default=None, description="llama.cpp chat format; None = the template in the GGUF."
    )
    n_ctx: int = Field(default=4096, ge=256, le=1_048_576)
    max_tokens: int = Field(default=512, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    gpu_layers: int = Field(default=-1, description="-1 = all layers where CUDA exists.")
    n_batch: int = Field(default=512, ge=1)
    sampling: SamplingDefaults = Field(default_factory=SamplingDefaults)
    state_cache: StateCacheSettings = Field(default_factory=StateCacheSettings)
    turns_at_once: int = Field(
        default=10,
        ge=1,
        le=32,
        description="Local models: how many chat turns share the model. Each new turn's "
        "prompt and first token come before running replies go on, and running replies take "
        "turns in short slices, so a tenth user waits for nine prompts, not nine whole "
        "replies. Each shared turn parks its KV in RAM (~28 KB per token for Qwen-1.5B). "
        "1 = one turn after another.",
    )
    cache_hints: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="OpenAI-compatible servers: send llama-server's `cache_prompt`; 'auto' "
        "stops sending it when the server rejects the field.",
    )

    @model_validator(mode="after")
    def _source_fields(self) -> ModelProfile:
        needed = {"packaged": "package", "gguf": "path", "openai": "url"}[self.source]
        if getattr(self, needed) in (None, ""):
            raise ValueError(f"source '{self.source}' needs '{needed}'")
        if self.max_tokens >= self.n_ctx:
            raise ValueError("max_tokens must be smaller than n_ctx")
        return self

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def unset_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """Why this profile's API key is missing, or None (no key needed, or the variable is set).

        Checked at start and shown in /health, so a remote server's 401 is not the first sign.
        """
        if self.source != "openai" or not self.api_key_env:
            return None
        env = os.environ if environ is None else environ
        if env.get(self.api_key_env):
            return None
        return (
            f"model profile '{self.name}' ({self.url}) reads its API key from "
            f"${self.api_key_env}, which is not set"
        )


class ProfileError(Exception):
    """The profiles file is missing, unreadable or invalid."""


def unset_api_keys(
    profiles: Mapping[str, ModelProfile], environ: Mapping[str, str] | None = None
) -> list[str]:
    """One line per remote profile whose `api_key_env` variable is unset or empty."""
    found = (profile.unset_api_key(environ) for profile in profiles.values())
    return [line for line in found if line]


def load_profiles(path: Path) -> dict[str, ModelProfile]:
    """Read and validate every profile; the error names the profile and field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"model profiles file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"model profiles file {path} is not valid TOML: {exc}") from exc
    profiles: dict[str, ModelProfile] = {}
    for name, body in (raw.get("models") or {}).items():
        try:
            profiles[name] = ModelProfile(name=name, **body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'profile'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ProfileError(f"model profile '{name}' in {path}: {problems}") from None
        except TypeError as exc:
            raise ProfileError(f"model profile '{name}' in {path}: {exc}") from None
    if not profiles:
        raise ProfileError(f"no [models.*] profiles in {path}")
    return profiles
