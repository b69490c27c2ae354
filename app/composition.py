"""The composition root: every long-lived object is built here from `Settings`, nowhere else.

Three registrations here are contracts, read them before adding a component:
- the turn hooks, in the order they run (`TurnHooks` checks that every slot a hook reads is
  filled by an earlier one);
- the per-user data owners (`UserDataRegistry`): a component that stores rows about a user
  registers here, and admin export/delete covers it;
- the runtime defaults (`RuntimeDefaults`): the one object that knows the default persona and
  model, read by the soul hook, the inner life, the admin service and the UI.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.observability.health import HealthMonitor
from app.observability.logging import LogBuffer
from app.observability.metrics import Metrics
from app.security.admin_gate import AdminGate
from app.security.limits import RateLimiter
from app.security.lockouts import Lockouts
from app.security.login_throttle import LoginThrottle
from app.security.sessions import SessionSigner, load_secret
from app.security.users_auth import UserAuthenticator
from app.services.admin import AdminService
from app.services.chat import ChatLimits, ChatService, PromptLog
from app.services.conversations import ConversationTransfer
from app.services.defaults import RuntimeDefaults
from app.services.inner_life import InnerLife
from app.services.media_turns import MediaTurnHook
from app.services.memory_turns import MemoryTurnHook
from app.services.metrics_sync import MetricsSync
from app.services.models import ModelManager
from app.services.prefix_warmer import PrefixWarmer
from app.services.scheduling import TurnScheduler
from app.services.soul_turns import SoulPromptAssembler, SoulTurnHook
from app.services.summarizer import FactAsker, Summarizer
from app.services.user_data import UserDataRegistry
from app.soul import PromptTemplates, SoulManager
from app.storage.database import Database
from app.storage.repositories import UserRepository, migrate_core
from config.settings import Settings
from media.markers import hide_partial_marker
from media.service import MediaService
from memory import MemoryService, build_memory
from models.profiles import load_profiles

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the API and the UI use. Built once per app by `build_services`."""

    settings: Settings
    db: Database
    models: ModelManager
    defaults: RuntimeDefaults
    chat: ChatService
    users: UserRepository
    soul: SoulManager
    prompts: SoulPromptAssembler
    inner_life: InnerLife
    metrics: Metrics
    log_buffer: LogBuffer
    admin_gate: AdminGate
    auth: UserAuthenticator
    login_throttle: LoginThrottle
    session_signer: SessionSigner
    memory: MemoryService
    media: MediaService
    transfer: ConversationTransfer
    metrics_sync: MetricsSync
    user_data: UserDataRegistry
    health: HealthMonitor
    admin: AdminService
    prefix_warmer: PrefixWarmer
    background: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    # -- lifecycle ---------------------------------------------------------------------
    def start_background(self) -> None:
        """Preload the model, unload it when idle, run the inner life: all off the loop."""
        self.chat.scheduler.open()
        self._spawn("memory-start", self._start_memory)
        if self.settings.llm_preload:
            self._spawn("model-preload", self._preload)
        self._spawn("idle-unloader", self._idle_loop)
        self.prefix_warmer.start()
        if self.settings.inner_life:
            self._spawn("inner-life", self._inner_life_loop)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
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
            return
        # Then the default persona's prompt prefix, while nobody talks yet: the first turn
        # of every new conversation starts from its saved state.
        self.prefix_warmer.warm(self.defaults.persona)

    def _idle_loop(self) -> None:
        while not self._stop.wait(30.0):
            self.models.unload_idle()
            try:  # memory consolidation in idle time or at night (memory/consolidation_schedule.py)
                self.memory.schedule.tick()
            except Exception:
                log.exception("consolidation schedule tick failed")

    def _inner_life_loop(self) -> None:
        while not self._stop.wait(self.settings.inner_life_interval_s):
            try:
                self.inner_life.tick()
            except Exception:
                log.exception("inner life tick failed")

    def close(self) -> None:
        self._stop.set()
        self.prefix_warmer.stop()
        for closer in (
            self.chat.scheduler.close,  # first: background work waiting for the model gives up
            self.memory.close,
            self.media.close,
            self.models.unload_all,
            self.admin.downloads.close,
        ):
            try:
                closer()
            except Exception:
                log.exception("shutdown step failed")
        self.db.close()


def build_services(settings: Settings) -> Services:
    """Build the whole object graph. Raises with a clear message on bad configuration."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_path)
    migrate_core(db)
    users = UserRepository(db)
    profiles = load_profiles(settings.model_profiles_file)
    models = ModelManager(
        profiles,
        settings.default_model,
        settings.resolved_models_dir,
        n_threads=settings.llm_threads,
        warmup=settings.llm_warmup,
        idle_unload_s=settings.llm_idle_unload_s,
    )
    soul = SoulManager(db, max_upload_bytes=settings.max_upload_bytes)
    soul.seed_builtin_personas(settings.personas_dir)
    soul.get_persona(settings.default_persona)  # fail at start, not at the first message
    defaults = RuntimeDefaults(db, soul, models, settings.default_persona, settings.default_model)
    defaults.apply_persisted()
    soul.shared_ids = lambda: (defaults.persona,)  # everyone may chat with the default
    templates = PromptTemplates(settings.prompts_dir / "soul")
    user_name = settings.user_display_name or ("друг" if settings.language == "ru" else "friend")
    prompts = SoulPromptAssembler(soul, templates, user_name)
    metrics = Metrics()
    # One generation at a time per model; chat turns wait in line, background work
    # (inner life, summaries, profile facts, prefix warm-up) only runs when nobody does.
    scheduler = TurnScheduler(max_waiting=settings.chat_queue_max)
    fact_asker = FactAsker(models, scheduler=scheduler)
    memory = build_memory(
        db,
        settings.memory,
        settings.data_dir / "memory",
        summarize=Summarizer(models, settings.prompts_dir, scheduler),
        ask_model=fact_asker,
    )
    media_cfg = settings.media
    if "models_dir" not in media_cfg.model_fields_set:
        media_cfg = media_cfg.model_copy(update={"models_dir": settings.resolved_models_dir})
    media = MediaService(
        media_cfg,
        db,
        settings.resolved_cache_dir / "artifacts",
        admit=RateLimiter(settings.heavy_rate_per_min, per_s=60.0).check,
        max_input_bytes=settings.max_upload_bytes,
    )
    # The turn's hooks, in the order they run: the soul resolves the persona and the
    # reaction (memory and media read the persona), then recall, then media.
    chat = ChatService(
        db,
        models,
        prompts,
        ChatLimits(settings.max_message_chars, settings.history_turns),
        hooks=[
            SoulTurnHook(soul, defaults),
            MemoryTurnHook(
                memory,
                metrics=metrics,
                persona_name=lambda pid: soul.get_persona(pid).name,
                user_name=settings.user_display_name or None,
            ),
            MediaTurnHook(media, soul),
        ],
        default_language=settings.language,
        on_generation=metrics.observe_generation,
        limiter=RateLimiter(settings.chat_rate_per_min, per_s=60.0),
        scheduler=scheduler,
    )
    chat.display_filter = hide_partial_marker
    # Messages regenerated over or edited away are forgotten, not remembered.
    chat.on_messages_deleted.append(memory.forget_messages)
    # The profile extractor asks the model only while no chat turn is generating.
    memory.profile.model_busy = chat.busy
    fact_asker.busy = chat.busy
    memory.schedule.busy = chat.busy  # a chat turn interrupts an automatic consolidation
    # A deleted persona: the configured default refuses, an admin's choice falls back, and
    # its conversations go on with the default (inside the deleting transaction).
    soul.on_persona_deleted += [defaults.persona_deleted, chat.persona_deleted]
    if settings.debug_prompt_log is not None:
        chat.prompt_log = PromptLog(settings.debug_prompt_log)
    # Who holds rows about a user. The account comes first (its row is deleted last);
    # a new component that stores per-user rows registers here.
    user_data = UserDataRegistry(db)
    user_data.register("account", users)
    user_data.register("chat", chat)
    user_data.register("soul", soul)
    user_data.register("memory", memory)
    user_data.register("profile", memory.profile.store)
    user_data.register("media", media)
    for table in user_data.unclaimed_tables():
        log.error("table %s holds per-user rows but no component owns them", table)
    # Personas' prompt prefixes, warmed in the background when the model idles: the
    # default after start and when it changes, an edited persona again (its old state freed).
    prefix_warmer = PrefixWarmer(models, prompts, soul, scheduler)
    defaults.on_persona_changed.append(prefix_warmer.warm)
    soul.on_persona_saved.append(prefix_warmer.persona_saved)
    log_buffer = LogBuffer(2000)
    return Services(
        settings=settings,
        db=db,
        models=models,
        defaults=defaults,
        chat=chat,
        users=users,
        soul=soul,
        prompts=prompts,
        inner_life=InnerLife(
            db,
            soul,
            models,
            prompts,
            settings.max_unprompted_per_hour,
            defaults=defaults,
            scheduler=scheduler,
        ),
        metrics=metrics,
        log_buffer=log_buffer,
        admin_gate=AdminGate(
            settings.admin_token,
            lockout_after=settings.admin_lockout_after,
            lockout_s=settings.admin_lockout_s,
        ),
        auth=UserAuthenticator(db),
        login_throttle=LoginThrottle(
            by_client=Lockouts(
                settings.login_lockout_after, settings.login_lockout_s, settings.login_lockout_s
            ),
            by_account=Lockouts(
                settings.login_account_lockout_after,
                settings.login_lockout_s,
                settings.login_lockout_s,
            ),
        ),
        session_signer=SessionSigner(
            load_secret(settings.data_dir / "ui-session.key"), ttl_s=settings.ui_session_ttl_s
        ),
        memory=memory,
        media=media,
        transfer=ConversationTransfer(db, memory, soul, settings.max_upload_bytes),
        metrics_sync=MetricsSync(metrics, media, memory),
        user_data=user_data,
        health=HealthMonitor(db, models, memory, media, settings.data_dir, queues=scheduler.stats),
        admin=AdminService(
            db,
            settings,
            user_data=user_data,
            defaults=defaults,
            soul=soul,
            models=models,
            metrics=metrics,
            log_buffer=log_buffer,
            memory=memory,
            media=media,
        ),
        prefix_warmer=prefix_warmer,
    )
