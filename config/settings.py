"""Application settings, validated at start.

Values come from (highest first) constructor arguments, `IKAR_*` environment variables, a
`.env` file, and an optional TOML file given with `launch.py --config`. A bad value stops the
app with a message that names the variable (see `load_settings`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from media.config import MediaConfig
from memory.config import MemoryConfig

CONFIG_DIR = Path(__file__).resolve().parent

# The admin token's two names: IKAR's own, and the seed's (Docker setups use it). One setting;
# when both are set, the first wins and the start-up log says they differ.
ADMIN_TOKEN_NAMES = ("IKAR_ADMIN_TOKEN", "ADMIN_API_TOKEN")


def default_data_dir() -> Path:
    """Per-user data folder (XDG on Linux), never the checkout: updates must not touch data."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "ikar"


class Settings(BaseSettings):
    """Everything the composition root needs to build the app."""

    model_config = SettingsConfigDict(
        env_prefix="IKAR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        env_nested_delimiter="__",
        populate_by_name=True,
    )

    # Paths
    data_dir: Path = Field(default_factory=default_data_dir, description="Databases, indexes.")
    models_dir: Path | None = Field(default=None, description="Assembled GGUF files.")
    cache_dir: Path | None = Field(default=None, description="Artifact cache (audio, images).")
    model_profiles_file: Path = Field(
        default=CONFIG_DIR / "models.toml", description="Model profiles (TOML)."
    )
    prompts_dir: Path = Field(default=CONFIG_DIR / "prompts", description="Prompt templates.")
    personas_dir: Path = Field(default=CONFIG_DIR / "personas", description="Shipped personas.")

    # Model
    default_model: str = Field(default="qwen2.5-coder-1.5b", description="Model profile name.")
    llm_threads: int | None = Field(default=None, ge=1, le=256, description="CPU threads.")
    llm_idle_unload_s: float = Field(default=1800.0, ge=0, description="0 = never unload.")
    llm_warmup: bool = True
    llm_preload: bool = Field(default=True, description="Load the model at start.")

    # Chat limits
    max_message_chars: int = Field(default=8000, ge=1, le=1_000_000)
    max_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    history_turns: int = Field(default=40, ge=1, le=1000, description="Messages read for prompt.")

    # Soul
    default_persona: str = Field(default="chatumba", description="Persona of new chats.")
    user_display_name: str = Field(default="", description="How personas address you.")
    inner_life: bool = Field(default=True, description="Idle thoughts and writing first.")
    inner_life_interval_s: float = Field(default=300.0, ge=5.0)
    max_unprompted_per_hour: int = Field(default=2, ge=0, le=60)

    # Security and limits
    chat_rate_per_min: float = Field(default=30.0, gt=0, description="Per user.")
    chat_queue_max: int = Field(
        default=16,
        ge=0,
        le=10_000,
        description="Turns that may wait for a busy model; more answer 503 with Retry-After.",
    )
    heavy_rate_per_min: float = Field(default=10.0, gt=0, description="Media jobs per user.")
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    admin_lockout_after: int = Field(default=5, ge=1)
    admin_lockout_s: float = Field(default=300.0, ge=1.0)
    login_lockout_after: int = Field(
        default=5, ge=1, description="Wrong passwords from one address before a lockout."
    )
    login_account_lockout_after: int = Field(
        default=20, ge=1, description="Wrong passwords for one account (any address)."
    )
    login_lockout_s: float = Field(default=300.0, ge=1.0, description="Login lockout length.")
    ui_session_ttl_s: float = Field(
        default=7 * 24 * 3600.0,
        ge=60.0,
        description="How long a browser session stays valid without a page load.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed "
        "(empty: none, the peer address is the client).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    debug_prompt_log: Path | None = Field(
        default=None, description="Append every model prompt to this JSONL file (debugging)."
    )

    # UI / server
    language: Literal["ru", "en"] = "ru"
    host: str = "127.0.0.1"
    port: int = Field(default=6666, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)

    # Subsystems (nested: IKAR_MEMORY__EMBEDDER=minilm, IKAR_MEDIA__IMAGE__MODEL=/path)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)

    # Secrets: no defaults, ever.
    admin_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(*ADMIN_TOKEN_NAMES),
        description="Admin tab and /api/admin/* (IKAR_ADMIN_TOKEN or ADMIN_API_TOKEN).",
    )

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("'*' is not allowed; list the origins explicitly")
        return value

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "ikar.sqlite3"


class SettingsError(Exception):
    """Settings failed validation; the message names each bad variable."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build `Settings`, turning validation errors into one readable message."""
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise SettingsError(f"config file not found: {config_file}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from exc
    values.update(overrides)
    try:
        # Explicit values (config file) must not override the environment: pass them as
        # defaults by building through the env source first.
        env_settings = Settings()
        merged = {**values, **_explicit_env(env_settings)}
        return Settings(**merged) if values else env_settings
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _explicit_env(settings: Settings) -> dict[str, Any]:
    """The fields set by the environment or .env (so they win over the config file)."""
    return {name: getattr(settings, name) for name in settings.model_fields_set}


def admin_token_conflict(env_file: Path | None = Path(".env")) -> str | None:
    """A warning when IKAR_ADMIN_TOKEN and ADMIN_API_TOKEN are both set and differ.

    Read like the settings read them (process environment first, then `.env`); the values
    themselves never appear in the message.
    """
    file_values = dotenv_values(env_file) if env_file is not None and env_file.is_file() else {}
    values = [os.environ.get(name, file_values.get(name)) for name in ADMIN_TOKEN_NAMES]
    if all(values) and values[0] != values[1]:
        first, second = ADMIN_TOKEN_NAMES
        return f"{first} and {second} are both set and differ: {first} is used"
    return None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "?"
        name = field.upper()
        parts.append(f"{name if name in ADMIN_TOKEN_NAMES else 'IKAR_' + name}: {error['msg']}")
    return "invalid settings: " + "; ".join(parts)
