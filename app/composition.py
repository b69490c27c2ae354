"""The composition root: every long-lived object is built here from `Settings`, nowhere else."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request

from app.observability.health import ComponentHealth, aggregate, disk_health
from app.observability.logging import LogBuffer
from app.observability.metrics import Metrics
from app.security.admin_gate import AdminGate
from app.security.limits import RateLimiter
from app.security.sessions import SessionSigner
from app.security.users_auth import UserAuthenticator, bearer_token
from app.services.admin import AdminService
from app.services.chat import ChatLimits, ChatService, PromptLog
from app.services.conversations import ConversationTransfer
from app.services.inner_life import InnerLife
from app.services.media_turns import MediaTurnHook
from app.services.memory_turns import MemoryTurnHook
from app.services.metrics_sync import MetricsSync
from app.services.models import ModelManager
from app.services.soul_turns import SoulPromptAssembler, SoulTurnHook
from app.services.turns import TurnHook
from app.soul import PromptTemplates, SoulManager
from app.storage.database import Database
from app.storage.repositories import MessageRepository, UserRepository, migrate_core
from config.settings import Settings
from media.markers import hide_partial_marker
from media.service import MediaService
from memory import MemoryService, build_memory
from models.profiles import load_profiles
from models.types import ChatMessage, SamplingParams, Usage

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the API and the UI use. Built once per app by `build_services`."""

    settings: Settings
    db: Database
    models: ModelManager
    chat: ChatService
    users: UserRepository
    soul: SoulManager
    prompts: SoulPromptAssembler
    inner_life: InnerLife
    metrics: Metrics
    log_buffer: LogBuffer
    admin_gate: AdminGate
    auth: UserAuthenticator
    memory: MemoryService
    media: MediaService
    transfer: ConversationTransfer
    metrics_sync: MetricsSync
    chat_limiter: RateLimiter
    heavy_limiter: RateLimiter
    background: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    session_signer: SessionSigner = field(default_factory=SessionSigner)
    admin: AdminService = field(init=False)  # needs the rest: set last in build_services

    # -- identity ----------------------------------------------------------------------
    @property
    def accounts_required(self) -> bool:
        """With user accounts configured, every request must say who it is."""
        return self.auth.users_configured()

    def authenticate_request(self, request: Request) -> str | None:
        token = bearer_token(request)
        return self.auth.user_for_api_token(token) if token else None

    # -- lifecycle ---------------------------------------------------------------------
    def start_background(self) -> None:
        """Preload the model, unload it when idle, run the inner life: all off the loop."""
        self._spawn("memory-start", self._start_memory)
        if self.settings.llm_preload:
            self._spawn("model-preload", self._preload)
        self._spawn("idle-unloader", self._idle_loop)
        if self.settings.inner_life:
            self._spawn("inner-life", self._inner_life_loop)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.background.append(thread)

    def _start_memory(self) -> None:
        try:
            self.memory.start()
        except Exception:  # visible in /health; chat works without memory
            log.exception("memory failed to start")

    def _preload(self) -> None:
        try:
            self.models.backend().load()
        except Exception as exc:  # state and reason are visible in /health
            log.error("model preload failed: %s", exc)

    def _idle_loop(self) -> None:
        while not self._stop.wait(30.0):
            self.models.unload_idle()

    def _inner_life_loop(self) -> None:
        while not self._stop.wait(self.settings.inner_life_interval_s):
            try:
                self.inner_life.tick()
            except Exception:
                log.exception("inner life tick failed")

    def close(self) -> None:
        self._stop.set()
        for closer in (self.memory.close, self.media.close, self.models.unload_all):
            try:
                closer()
            except Exception:
                log.exception("shutdown step failed")
        self.db.close()

    # -- health ------------------------------------------------------------------------
    def health_components(self) -> list[ComponentHealth]:
        components: list[ComponentHealth] = []
        try:
            ok = self.db.ping()
            components.append(
                ComponentHealth(
                    name="db", state="ok" if ok else "failed", data={"path": str(self.db.path)}
                )
            )
        except Exception as exc:
            components.append(ComponentHealth(name="db", state="failed", detail=str(exc)))
        llm = self.models.status()
        components.append(
            ComponentHealth(
                name="llm",
                state=llm.state,
                detail=llm.detail or "",
                data=llm.model_dump() | {"load_progress": round(self.models.load_progress, 3)},
            )
        )
        components.append(disk_health(self.settings.data_dir, 1 << 30))
        try:
            mem = self.memory.status()
            consistent = mem.index.consistent
            state = "failed" if mem.embedder.state == "failed" else "ok"
            components.append(
                ComponentHealth(
                    name="memory",
                    state=state,
                    detail=mem.embedder.detail or "",
                    data=mem.model_dump(mode="json") | {"index_consistent": consistent},
                )
            )
        except Exception as exc:
            components.append(ComponentHealth(name="memory", state="failed", detail=str(exc)))
        return components

    async def health(self) -> dict[str, Any]:
        components = await self.db.run(self.health_components)
        try:
            media = await self.media.status()
            failed = [n for n, e in media.engines.items() if e.state == "failed"]
            components.append(
                ComponentHealth(
                    name="media",
                    state="degraded" if failed else "ok",
                    detail=", ".join(f"{n}: {media.engines[n].detail}" for n in failed),
                    data=media.model_dump(mode="json"),
                )
            )
        except Exception as exc:
            components.append(ComponentHealth(name="media", state="failed", detail=str(exc)))
        report = aggregate(components, critical={"db"})
        body = report.model_dump(mode="json")
        # Flatten each component's data next to its state: clients read components.llm.loaded.
        for name, comp in body["components"].items():
            body["components"][name] = {**comp.pop("data", {}), **comp}
        return body

    # -- metrics hook ------------------------------------------------------------------
    def record_generation(self, outcome: str, usage: Usage | None) -> None:
        mapped: Literal["ok", "error", "timeout"] = (
            "ok" if outcome == "ok" else "timeout" if outcome == "timeout" else "error"
        )
        if usage is None:
            self.metrics.observe_llm(mapped)
            return
        self.metrics.observe_llm(
            mapped,
            latency_s=usage.total_s,
            ttft_s=usage.time_to_first_token_s,
            completion_tokens=usage.completion_tokens,
        )


def build_services(settings: Settings) -> Services:
    """Build the whole object graph. Raises with a clear message on bad configuration."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_path)
    migrate_core(db)
    profiles = load_profiles(settings.model_profiles_file)
    models = ModelManager(
        profiles,
        settings.default_model,
        settings.resolved_models_dir,
        n_threads=settings.llm_threads,
        warmup=settings.llm_warmup,
        idle_unload_s=settings.llm_idle_unload_s,
    )
    soul = SoulManager(db)
    soul.seed_builtin_personas(settings.personas_dir)
    soul.get_persona(settings.default_persona)  # fail at start, not at the first message
    templates = PromptTemplates(settings.prompts_dir / "soul")
    user_name = settings.user_display_name or ("друг" if settings.language == "ru" else "friend")
    prompts = SoulPromptAssembler(soul, templates, user_name)
    metrics = Metrics()
    memory_cfg = settings.memory
    memory = build_memory(
        db,
        memory_cfg,
        settings.data_dir / "memory",
        summarize=lambda lines: summarize_with(models, lines),
    )
    media_cfg = settings.media
    if "models_dir" not in media_cfg.model_fields_set:
        media_cfg = media_cfg.model_copy(update={"models_dir": settings.resolved_models_dir})
    media = MediaService(media_cfg, db, settings.resolved_cache_dir / "artifacts")
    messages = MessageRepository(db)
    hooks: list[TurnHook] = [
        SoulTurnHook(soul, settings.default_persona),
        MemoryTurnHook(memory, metrics=metrics),
        MediaTurnHook(media, soul, messages),
    ]
    chat = ChatService(
        db,
        models,
        prompts,
        ChatLimits(settings.max_message_chars, settings.history_turns),
        hooks=hooks,
        default_language=settings.language,
    )
    services = Services(
        settings=settings,
        db=db,
        models=models,
        chat=chat,
        users=UserRepository(db),
        soul=soul,
        prompts=prompts,
        inner_life=InnerLife(
            db,
            soul,
            models,
            prompts,
            settings.max_unprompted_per_hour,
            default_persona=settings.default_persona,
        ),
        metrics=metrics,
        log_buffer=LogBuffer(2000),
        admin_gate=AdminGate(
            settings.admin_token,
            lockout_after=settings.admin_lockout_after,
            lockout_s=settings.admin_lockout_s,
        ),
        auth=UserAuthenticator(db),
        memory=memory,
        media=media,
        transfer=ConversationTransfer(db, memory, soul, settings.max_upload_bytes),
        metrics_sync=MetricsSync(metrics, media, memory),
        chat_limiter=RateLimiter(settings.chat_rate_per_min, per_s=60.0),
        heavy_limiter=RateLimiter(settings.heavy_rate_per_min, per_s=60.0),
    )
    chat.on_generation = services.record_generation
    chat.display_filter = hide_partial_marker
    if settings.debug_prompt_log is not None:
        chat.prompt_log = PromptLog(settings.debug_prompt_log)
    services.admin = AdminService(services)
    return services


def summarize_with(models: ModelManager, lines: list[str]) -> str:
    """The LLM call memory consolidation uses to turn old turns into one summary."""
    text = "\n".join(lines)[:6000]
    prompt = [
        ChatMessage(
            role="system",
            content="Summarise the conversation below in 2-4 sentences: facts about the user, "
            "their preferences and events. Use the conversation's language. "
            "Кратко перескажи разговор: факты о пользователе, его предпочтения и события.",
        ),
        ChatMessage(role="user", content=text),
    ]
    chunks = models.backend().stream(prompt, SamplingParams(max_tokens=200, temperature=0.2))
    return "".join(c.text for c in chunks).strip()
