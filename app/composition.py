"""The composition root: every long-lived object is built here from `Settings`, nowhere else."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from app.services.basic_prompt import BasicPromptAssembler
from app.services.chat import ChatLimits, ChatService
from app.services.models import ModelManager
from app.storage.database import Database
from app.storage.repositories import UserRepository, migrate_core
from config.settings import Settings
from models.profiles import load_profiles

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "Ты — Чатумба, тёплый и остроумный ИИ-компаньон. Отвечай на языке собеседника, "
    "коротко и по-дружески. You are Chatumba, a warm and witty AI companion: answer in "
    "the user's language, briefly and kindly."
)


@dataclass
class Services:
    """Everything the API and the UI use. Built once per app by `build_services`."""

    settings: Settings
    db: Database
    models: ModelManager
    chat: ChatService
    users: UserRepository
    background: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    # -- identity (accounts come with the admin/security work) ---------------------------
    @property
    def accounts_required(self) -> bool:
        return False

    def authenticate_request(self, request: Request) -> str | None:
        return None

    # -- lifecycle ---------------------------------------------------------------------
    def start_background(self) -> None:
        """Preload the model and unload it when idle; both off the event loop."""
        if self.settings.llm_preload:
            self._spawn("model-preload", self._preload)
        self._spawn("idle-unloader", self._idle_loop)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.background.append(thread)

    def _preload(self) -> None:
        try:
            self.models.backend().load()
        except Exception as exc:  # state and reason are visible in /health
            log.error("model preload failed: %s", exc)

    def _idle_loop(self) -> None:
        while not self._stop.wait(30.0):
            self.models.unload_idle()

    def close(self) -> None:
        self._stop.set()
        self.models.unload_all()
        self.db.close()

    # -- health ------------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        try:
            db_ok = await self.db.run(self.db.ping)
            components["db"] = {"state": "ok" if db_ok else "failed", "path": str(self.db.path)}
        except Exception as exc:
            components["db"] = {"state": "failed", "detail": str(exc)}
        llm = self.models.status()
        components["llm"] = llm.model_dump() | {
            "state": llm.state,
            "load_progress": round(self.models.load_progress, 3),
        }
        usage = shutil.disk_usage(self.settings.data_dir)
        components["disk"] = {
            "state": "ok" if usage.free > 1 << 30 else "degraded",
            "free_bytes": usage.free,
        }
        if components["db"]["state"] != "ok":
            status = "failed"
        elif llm.state == "failed" or components["disk"]["state"] != "ok":
            status = "degraded"
        else:
            status = "ok"
        return {"status": status, "components": components}


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
    chat = ChatService(
        db,
        models,
        BasicPromptAssembler(DEFAULT_SYSTEM_PROMPT),
        ChatLimits(settings.max_message_chars, settings.history_turns),
        default_language=settings.language,
    )
    return Services(settings=settings, db=db, models=models, chat=chat, users=UserRepository(db))
