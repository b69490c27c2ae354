"""The admin service: every decision behind the admin tab and `/api/admin/*` lives here.

Routes and the Gradio tab only check the admin token (`app/security/admin_gate.py`) and
translate; this class lists users and their data, exports and deletes one user, edits the
prompt templates, switches models and the default persona, reads metrics and logs, and
backs up and restores the database.

It owns no one else's tables: per-user data is counted, exported and deleted through the
`UserDataRegistry` (every component answers for its own rows), the default persona and
model through `RuntimeDefaults`. Memory and media are optional arguments (a build without
them shows "not available"); everything it needs is passed in by the composition root.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, SecretStr

from app.observability.logging import MASK, LogBuffer, is_sensitive_key
from app.observability.metrics import Metrics
from app.security.paths import UnsafePathError, safe_join
from app.services.defaults import RuntimeDefaults
from app.services.downloads import OneTimeDownloads
from app.services.errors import ServiceError
from app.services.models import ModelManager
from app.services.user_data import UserDataRegistry
from app.soul import SoulManager
from app.storage.database import Database
from config.settings import Settings
from media.service import MediaService
from memory import MemoryService

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
REQUIRED_TABLES = frozenset({"schema_versions", "users", "conversations", "messages"})
MAX_TEMPLATE_CHARS = 200_000
KEEP_BACKUPS = 5
MAX_LOG_LINES = 2000
_TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.j2$")


class AdminError(ServiceError):
    """A refused admin action. `key` is an "admin.error.*" message; `code` is its last part."""


class UserSummary(BaseModel):
    id: str
    name: str
    created_at: float
    is_admin: bool
    has_password: bool
    conversations: int
    messages: int
    souls: int
    memories: int | None  # None: this build has no memory component
    data: dict[str, int] = {}  # every owner's counts (artifacts, personas, ...)


class PromptTemplateInfo(BaseModel):
    name: str
    size: int
    modified_at: float


class PromptTemplate(PromptTemplateInfo):
    text: str


class ModelInfo(BaseModel):
    name: str
    label: str
    source: str
    active: bool
    configured_default: bool
    state: str
    loaded: bool
    detail: str | None = None


class PersonaDefaults(BaseModel):
    default_persona: str
    configured: str
    personas: list[dict[str, str]]


class RestoreResult(BaseModel):
    safety_backup: str
    components: dict[str, int]
    users: int


class AdminService:
    """Admin actions. Synchronous: the REST routes and the admin tab run them in a thread."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        user_data: UserDataRegistry,
        defaults: RuntimeDefaults,
        soul: SoulManager,
        models: ModelManager,
        metrics: Metrics,
        log_buffer: LogBuffer,
        memory: MemoryService | None = None,
        media: MediaService | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.settings = settings
        self.user_data = user_data
        self.defaults = defaults
        self.soul = soul
        self.models = models
        self.metrics = metrics
        self.log_buffer = log_buffer
        self.memory = memory
        self.media = media
        self._clock = clock
        self._sandbox = ImmutableSandboxedEnvironment()
        # Backups and user exports reach the admin's browser only through these links.
        self.downloads = OneTimeDownloads()

    # -- users -----------------------------------------------------------------------------
    def list_users(self) -> list[UserSummary]:
        """Every user with how much of their data each component stores."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT id, name, created_at, is_admin,"
                " password_hash IS NOT NULL AS has_password FROM users ORDER BY created_at"
            ).fetchall()
        out = []
        for r in rows:
            counts = self.user_data.count(r["id"])
            out.append(
                UserSummary(
                    id=r["id"],
                    name=r["name"],
                    created_at=r["created_at"],
                    is_admin=bool(r["is_admin"]),
                    has_password=bool(r["has_password"]),
                    conversations=counts.get("conversations", 0),
                    messages=counts.get("messages", 0),
                    souls=counts.get("souls", 0),
                    memories=counts.get("memories"),
                    data=counts,
                )
            )
        return out

    def export_user(self, user_id: str) -> dict[str, Any]:
        """One user's data as JSON, one section per kind (conversations, soul, memories,
        personas, artifacts, ...): whatever the registered owners hold.

        Credentials (password and token hashes) are never exported."""
        return self.user_data.export(user_id)

    @property
    def private_dir(self) -> Path:
        """Where user exports wait for their one-time link (0700; never served by gradio)."""
        return _private_folder(self.settings.resolved_cache_dir / "private")

    def write_export(self, user_id: str) -> Path:
        """`export_user` as a private JSON file (0600), for a one-time link."""
        doc = self.export_user(user_id)
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", user_id)[:40] or "user"
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%d-%H%M%S")
        folder = self.private_dir
        target = folder / f"ikar-user-{stem}-{stamp}-{uuid.uuid4().hex[:6]}.json"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, ensure_ascii=False, indent=1)
        for old in sorted(folder.glob("ikar-user-*.json"), key=lambda p: p.stat().st_mtime)[
            :-KEEP_BACKUPS
        ]:
            old.unlink(missing_ok=True)
        return target

    def offer(self, path: Path, media_type: str, client: str) -> str:
        """A one-time link (relative) to a private file, for the admin at `client`."""
        return self.downloads.link(self.downloads.offer(path, path.name, media_type, client))

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Forget one user everywhere (every registered owner), in one transaction."""
        deleted = self.user_data.delete(user_id)
        log.info("admin deleted a user", extra={"user_id": user_id})
        return deleted

    # -- prompt templates ------------------------------------------------------------------
    @property
    def prompts_root(self) -> Path:
        return self.settings.prompts_dir / "soul"

    def _template_path(self, name: str) -> Path:
        """The template file for an untrusted name: a plain `*.j2` file in the folder."""
        if not isinstance(name, str) or not _TEMPLATE_NAME.fullmatch(name):
            raise AdminError("admin.error.bad_template_name", 400, name=str(name)[:80])
        try:
            path = safe_join(self.prompts_root, name)
        except UnsafePathError:
            raise AdminError("admin.error.bad_template_name", 400, name=name[:80]) from None
        if path.parent != self.prompts_root.resolve() or not path.is_file():
            raise AdminError("admin.error.template_not_found", 404, name=name)
        return path

    def list_prompts(self) -> list[PromptTemplateInfo]:
        root = self.prompts_root
        if not root.is_dir():
            return []
        out = []
        for path in sorted(root.glob("*.j2")):
            if path.is_file() and not path.is_symlink() and _TEMPLATE_NAME.fullmatch(path.name):
                stat = path.stat()
                out.append(
                    PromptTemplateInfo(name=path.name, size=stat.st_size, modified_at=stat.st_mtime)
                )
        return out

    def read_prompt(self, name: str) -> PromptTemplate:
        path = self._template_path(name)
        stat = path.stat()
        return PromptTemplate(
            name=path.name,
            size=stat.st_size,
            modified_at=stat.st_mtime,
            text=path.read_text(encoding="utf-8"),
        )

    def validate_template(self, text: str) -> None:
        """Raise AdminError unless `text` parses as a Jinja2 template (sandboxed parser)."""
        if len(text) > MAX_TEMPLATE_CHARS:
            raise AdminError("admin.error.template_too_long", 400, limit=MAX_TEMPLATE_CHARS)
        try:
            self._sandbox.parse(text)
        except TemplateSyntaxError as exc:
            raise AdminError(
                "admin.error.template_invalid", 400, line=exc.lineno, detail=exc.message or ""
            ) from None

    def save_prompt(self, name: str, text: str) -> PromptTemplate:
        """Replace an existing template atomically (temp file + os.replace) after it parses;
        the soul's loader re-reads it on the next render."""
        path = self._template_path(name)
        self.validate_template(text)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, path.stat().st_mode & 0o777)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.info("admin saved a prompt template", extra={"template": path.name})
        return self.read_prompt(name)

    # -- persona defaults ------------------------------------------------------------------
    @property
    def default_persona(self) -> str:
        return self.defaults.persona

    def persona_defaults(self) -> PersonaDefaults:
        personas = [{"id": p.id, "name": p.name} for p in self.soul.list_personas(everyone=True)]
        return PersonaDefaults(
            default_persona=self.defaults.persona,
            configured=self.defaults.configured_persona,
            personas=personas,
        )

    def set_default_persona(self, persona_id: str) -> PersonaDefaults:
        """New chats use `persona_id` from now on (and after a restart)."""
        self.defaults.set_persona(persona_id)
        return self.persona_defaults()

    # -- models ----------------------------------------------------------------------------
    def _profile(self, name: str) -> str:
        if name not in self.models.profiles:
            raise AdminError("admin.error.model_not_found", 404, model=name)
        return name

    def list_models(self) -> list[ModelInfo]:
        manager = self.models
        out = []
        for name, profile in manager.profiles.items():
            status = manager.backend(name).status()
            out.append(
                ModelInfo(
                    name=name,
                    label=profile.label,
                    source=profile.source,
                    active=name == manager.active_name,
                    configured_default=name == self.defaults.configured_model,
                    state=status.state,
                    loaded=status.loaded,
                    detail=status.detail,
                )
            )
        return out

    def model_info(self, name: str) -> ModelInfo:
        return next(m for m in self.list_models() if m.name == self._profile(name))

    def load_model(self, name: str) -> ModelInfo:
        """Load a model now (blocking: may assemble and read a large file)."""
        backend = self.models.backend(self._profile(name))
        try:
            backend.load()
        except Exception as exc:
            raise AdminError("admin.error.model_load_failed", 502, detail=str(exc)) from None
        return self.model_info(name)

    def unload_model(self, name: str) -> ModelInfo:
        self.models.backend(self._profile(name)).unload()
        return self.model_info(name)

    def set_default_model(self, name: str) -> ModelInfo:
        """Chat uses `name` from now on (and after a restart); the previous one unloads."""
        self.defaults.set_model(self._profile(name))
        return self.model_info(name)

    def persisted(self) -> dict[str, dict[str, str]]:
        """The admin's stored run-time choices (see `RuntimeDefaults`)."""
        return self.defaults.persisted()

    # -- jobs and memory -------------------------------------------------------------------
    def queues(self) -> dict[str, Any]:
        media = self.media
        if media is None:
            raise AdminError("admin.error.media_unavailable", 404)
        jobs = [j.model_dump(mode="json") for j in media.jobs()]
        stats = {k: v.model_dump(mode="json") for k, v in media.queues.stats().items()}
        return {"jobs": jobs, "stats": stats}

    def cancel_job(self, job_id: str) -> bool:
        media = self.media
        if media is None:
            raise AdminError("admin.error.media_unavailable", 404)
        return bool(media.cancel(job_id))

    def consolidation(self, action: str = "status", user_id: str | None = None) -> dict[str, Any]:
        """`status`, `start` (optionally for one user) or `cancel` memory consolidation."""
        memory = self.memory
        if memory is None:
            raise AdminError("admin.error.memory_unavailable", 404)
        changed: bool | None = None
        if action == "start":
            changed = bool(memory.start_consolidation(user_id or None))
        elif action == "cancel":
            changed = bool(memory.cancel_consolidation())
        elif action != "status":
            raise AdminError("admin.error.bad_action", 400, action=action[:40])
        status = memory.consolidation_status()
        return {"action": action, "changed": changed, "status": status.model_dump(mode="json")}

    # -- metrics, logs, config -------------------------------------------------------------
    def metrics_summary(self) -> dict[str, Any]:
        return self.metrics.summary()

    def log_tail(
        self,
        limit: int = 200,
        level: str | None = None,
        logger: str | None = None,
        text: str | None = None,
        request_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The newest log lines (already redacted by the buffer) that pass the filters."""
        limit = max(1, min(int(limit), MAX_LOG_LINES))
        try:
            entries = self.log_buffer.tail(
                limit,
                level=level or None,
                logger=logger or None,
                text=text or None,
                request_id=request_id or None,
            )
        except ValueError:
            raise AdminError("admin.error.bad_level", 400, level=str(level)[:20]) from None
        return [e.model_dump(mode="json", exclude={"levelno"}) for e in entries]

    def effective_config(self) -> dict[str, Any]:
        """The settings in effect, secrets masked, plus the admin's run-time choices."""
        values: dict[str, Any] = {}
        for name, value in self.settings.model_dump().items():
            if isinstance(value, SecretStr) or (is_sensitive_key(name) and value is not None):
                values[name] = MASK if value else None
            elif isinstance(value, Path):
                values[name] = str(value)
            elif isinstance(value, list | tuple):
                values[name] = [str(v) for v in value]
            else:
                values[name] = value
        values["resolved_models_dir"] = str(self.settings.resolved_models_dir)
        values["resolved_cache_dir"] = str(self.settings.resolved_cache_dir)
        values["database_path"] = str(self.settings.database_path)
        return {
            "settings": values,
            "runtime": {
                "active_model": self.models.active_name,
                "default_persona": self.defaults.persona,
                "admin_choices": self.persisted(),
                "memory": self.memory is not None,
                "media": self.media is not None,
            },
        }

    # -- backup and restore ----------------------------------------------------------------
    @property
    def backups_dir(self) -> Path:
        """Backups and the safety copies made before a restore (0700, files 0600)."""
        return _private_folder(self.settings.resolved_cache_dir / "backups")

    def create_backup(self, prefix: str = "ikar-backup") -> Path:
        """A consistent snapshot of the live database (SQLite online backup) as a new file."""
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%d-%H%M%S")
        target = self.backups_dir / f"{prefix}-{stamp}-{uuid.uuid4().hex[:6]}.sqlite3"
        self.db.backup(target)
        self._prune_backups(prefix)
        log.info("database backup written", extra={"backup": target.name})
        return target

    def _prune_backups(self, prefix: str) -> None:
        files = sorted(
            self.backups_dir.glob(f"{prefix}-*.sqlite3"), key=lambda p: p.stat().st_mtime
        )
        for old in files[:-KEEP_BACKUPS]:
            old.unlink(missing_ok=True)

    def inspect_backup(self, path: Path) -> dict[str, int]:
        """Check an uploaded file is an intact IKAR database this build can use; return its
        schema versions. Raises AdminError (400) with the reason otherwise."""
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError:
            raise AdminError("admin.error.not_sqlite", 400) from None
        if header != SQLITE_HEADER:
            raise AdminError("admin.error.not_sqlite", 400)
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            raise AdminError("admin.error.not_sqlite", 400) from None
        try:
            result = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                raise AdminError("admin.error.backup_corrupt", 400, detail="; ".join(result)[:300])
            tables = {
                str(r[0])
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            missing = sorted(REQUIRED_TABLES - tables)
            if missing:
                raise AdminError("admin.error.backup_schema", 400, missing=", ".join(missing))
            versions = {
                str(r[0]): int(r[1])
                for r in conn.execute("SELECT component, version FROM schema_versions")
            }
        except sqlite3.DatabaseError as exc:
            raise AdminError("admin.error.backup_corrupt", 400, detail=str(exc)[:300]) from None
        finally:
            conn.close()
        live = self._live_versions()
        mismatched = [
            f"{name} {versions.get(name, 0)}≠{version}"
            for name, version in sorted(live.items())
            if versions.get(name, 0) != version
        ]
        if mismatched:
            raise AdminError("admin.error.backup_version", 400, detail=", ".join(mismatched))
        return versions

    def _live_versions(self) -> dict[str, int]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT component, version FROM schema_versions").fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def restore(self, upload: Path) -> RestoreResult:
        """Replace the live database's content with an uploaded backup.

        The upload is validated first; the current database is backed up; then SQLite's
        backup API copies the upload *into* the live connection, so every open connection
        sees the restored data and no file is swapped under them.
        """
        versions = self.inspect_backup(upload)
        safety = self.create_backup(prefix="pre-restore")
        source = sqlite3.connect(f"{upload.resolve().as_uri()}?mode=ro", uri=True)
        try:
            with self.db.connect() as live:
                source.backup(live)
        finally:
            source.close()
        with self.db.connect() as conn:
            problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
            users = int(conn.execute("SELECT COUNT(*) FROM users").fetchone()[0])
        if problems != ["ok"]:  # cannot happen for a validated file; keep the evidence
            log.error("restore left an inconsistent database; safety copy %s", safety.name)
            raise AdminError("admin.error.backup_corrupt", 500, detail="; ".join(problems)[:300])
        self.defaults.apply_persisted()
        self._resync_memory()
        log.warning(
            "database restored from an upload",
            extra={"safety_backup": safety.name, "users": users},
        )
        return RestoreResult(safety_backup=safety.name, components=versions, users=users)

    def _resync_memory(self) -> None:
        """The vector index is derived from SQLite: re-check it after the rows changed."""
        if self.memory is None:
            return
        try:
            self.memory.keeper.startup_check()
        except Exception:
            log.exception("memory index check after restore failed")


def _private_folder(path: Path) -> Path:
    """`path`, created if needed, readable by this account only."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
