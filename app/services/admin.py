"""The admin service: every decision behind the admin tab and `/api/admin/*` lives here.

Routes and the Gradio tab only check the admin token (`app/security/admin_gate.py`) and
translate; this class lists users and their data, exports and deletes one user, edits the
prompt templates, switches models and the default persona, reads metrics and logs, and
backs up and restores the database.

Why admin choices persist "over" a setting: the default model and persona come from
`IKAR_*` settings, and an admin may change them at run time. The choice is stored together
with the setting it replaced and re-applied at start only while that setting is unchanged,
so editing the environment later still wins (the database never silently overrides it).

Optional parts (`services.memory`, `services.media`) are looked up with `getattr` on every
call: a build without them shows "not available" instead of failing.
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
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, SecretStr

from app.observability.logging import MASK, is_sensitive_key
from app.security.paths import UnsafePathError, safe_join
from app.services.errors import ServiceError
from app.services.soul_turns import SoulTurnHook
from app.soul.errors import PersonaNotFoundError
from app.storage.repositories import ConversationRepository, MessageRepository

if TYPE_CHECKING:
    from app.composition import Services

log = logging.getLogger(__name__)

ADMIN_MIGRATIONS: list[str] = [
    """
    CREATE TABLE admin_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        replaced TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
]

SQLITE_HEADER = b"SQLite format 3\x00"
REQUIRED_TABLES = frozenset({"schema_versions", "users", "conversations", "messages"})
MAX_TEMPLATE_CHARS = 200_000
KEEP_BACKUPS = 5
MAX_LOG_LINES = 2000
_TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.j2$")
_SETTING_DEFAULT_MODEL = "default_model"
_SETTING_DEFAULT_PERSONA = "default_persona"


class AdminError(ServiceError):
    """A refused admin action. `key` is an "admin.error.*" message; `code` is its last part."""

    @property
    def code(self) -> str:
        return self.key.rsplit(".", 1)[-1]


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
    """Admin actions over the app's `Services`. Synchronous: callers use `db.run`/threads."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.time) -> None:
        self._services = services
        self._clock = clock
        self.db = services.db
        self.settings = services.settings
        self.db.migrate("admin", ADMIN_MIGRATIONS)
        self._conversations = ConversationRepository(self.db)
        self._messages = MessageRepository(self.db)
        self._sandbox = ImmutableSandboxedEnvironment()
        self.apply_persisted()

    # -- optional components ---------------------------------------------------------------
    @property
    def memory(self) -> Any | None:
        return getattr(self._services, "memory", None)

    @property
    def media(self) -> Any | None:
        return getattr(self._services, "media", None)

    # -- users -----------------------------------------------------------------------------
    def list_users(self) -> list[UserSummary]:
        """Every user with how much of their data is stored."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT u.id, u.name, u.created_at, u.is_admin,"
                " u.password_hash IS NOT NULL AS has_password,"
                " (SELECT COUNT(*) FROM conversations c WHERE c.user_id = u.id) AS conversations,"
                " (SELECT COUNT(*) FROM messages m WHERE m.user_id = u.id) AS messages"
                " FROM users u ORDER BY u.created_at"
            ).fetchall()
            souls = self._soul_counts(conn)
        memory = self.memory
        out = []
        for r in rows:
            memories: int | None = None
            if memory is not None:
                try:
                    memories = int(memory.stats(r["id"]).total)
                except Exception:  # a broken memory component must not hide the users
                    log.exception("memory stats failed")
            out.append(
                UserSummary(
                    id=r["id"],
                    name=r["name"],
                    created_at=r["created_at"],
                    is_admin=bool(r["is_admin"]),
                    has_password=bool(r["has_password"]),
                    conversations=r["conversations"],
                    messages=r["messages"],
                    souls=souls.get(r["id"], 0),
                    memories=memories,
                )
            )
        return out

    @staticmethod
    def _soul_counts(conn: sqlite3.Connection) -> dict[str, int]:
        # Read-only peek at the soul's table: the soul manager has no per-user count.
        try:
            rows = conn.execute(
                "SELECT user_id, COUNT(*) FROM soul_state GROUP BY user_id"
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
        return {str(r[0]): int(r[1]) for r in rows}

    def _user_row(self, user_id: str) -> sqlite3.Row:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT id, name, created_at, is_admin FROM users WHERE id = ?", (user_id,)
            ).fetchone()
        if row is None:
            raise AdminError("admin.error.user_not_found", 404, user=user_id)
        return row

    def export_user(self, user_id: str) -> dict[str, Any]:
        """One user's data as JSON: conversations with messages, soul states, memories.

        Credentials (password and token hashes) are never exported."""
        row = self._user_row(user_id)
        conversations = []
        for conv in self._conversations.list(user_id, limit=1_000_000):
            messages = self._messages.list(user_id, conv.id)
            conversations.append(
                {
                    **conv.model_dump(exclude={"message_count"}),
                    "messages": [m.model_dump() for m in messages],
                }
            )
        with self.db.connect() as conn:
            try:
                soul_rows = conn.execute(
                    "SELECT persona_id, state_json, updated_at FROM soul_state"
                    " WHERE user_id = ? ORDER BY persona_id",
                    (user_id,),
                ).fetchall()
            except sqlite3.OperationalError:
                soul_rows = []
        doc: dict[str, Any] = {
            "format": "ikar.user-export",
            "version": 1,
            "exported_at": self._clock(),
            "user": {
                "id": row["id"],
                "name": row["name"],
                "created_at": row["created_at"],
                "is_admin": bool(row["is_admin"]),
            },
            "conversations": conversations,
            "soul": [
                {
                    "persona_id": r["persona_id"],
                    "state": json.loads(r["state_json"]),
                    "updated_at": r["updated_at"],
                }
                for r in soul_rows
            ],
        }
        memory = self.memory
        if memory is not None:
            doc["memories"] = json.loads(memory.export_memories(user_id))["memories"]
        return doc

    def write_export(self, user_id: str) -> Path:
        """`export_user` as a JSON file under the cache (which the UI may serve)."""
        doc = self.export_user(user_id)
        folder = self.settings.resolved_cache_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", user_id)[:40] or "user"
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%d-%H%M%S")
        target = folder / f"ikar-user-{stem}-{stamp}.json"
        target.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        for old in sorted(folder.glob("ikar-user-*.json"), key=lambda p: p.stat().st_mtime)[
            :-KEEP_BACKUPS
        ]:
            old.unlink(missing_ok=True)
        return target

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Forget one user: memories, souls, then the user row (conversations and messages
        cascade), the database part in one transaction."""
        self._user_row(user_id)
        deleted: dict[str, int] = {}
        memory = self.memory
        if memory is not None:
            deleted["memories"] = int(memory.delete_user(user_id))  # also updates the index
        with self.db.transaction() as conn:
            deleted["conversations"] = conn.execute(
                "SELECT COUNT(*) FROM conversations WHERE user_id = ?", (user_id,)
            ).fetchone()[0]
            deleted["messages"] = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE user_id = ?", (user_id,)
            ).fetchone()[0]
            self._services.soul.delete_user_data(user_id)  # joins this transaction
            # conversations, and their messages, cascade from the user row
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
        log.info("admin deleted a user", extra={"user_id": user_id, **deleted})
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
    def _soul_hooks(self) -> list[SoulTurnHook]:
        return [h for h in self._services.chat.hooks if isinstance(h, SoulTurnHook)]

    @property
    def default_persona(self) -> str:
        hooks = self._soul_hooks()
        return hooks[0].default_persona if hooks else self.settings.default_persona

    def persona_defaults(self) -> PersonaDefaults:
        personas = [{"id": p.id, "name": p.name} for p in self._services.soul.list_personas()]
        return PersonaDefaults(
            default_persona=self.default_persona,
            configured=self.settings.default_persona,
            personas=personas,
        )

    def set_default_persona(self, persona_id: str) -> PersonaDefaults:
        """New chats use `persona_id` from now on (and after a restart)."""
        self._apply_persona(persona_id)
        self._persist(_SETTING_DEFAULT_PERSONA, persona_id, self.settings.default_persona)
        return self.persona_defaults()

    def _apply_persona(self, persona_id: str) -> None:
        try:
            self._services.soul.get_persona(persona_id)
        except PersonaNotFoundError:
            raise AdminError("admin.error.persona_not_found", 404, persona=persona_id) from None
        for hook in self._soul_hooks():
            hook.default_persona = persona_id
        self._services.inner_life.default_persona = persona_id

    # -- models ----------------------------------------------------------------------------
    def _profile(self, name: str) -> str:
        if name not in self._services.models.profiles:
            raise AdminError("admin.error.model_not_found", 404, model=name)
        return name

    def list_models(self) -> list[ModelInfo]:
        manager = self._services.models
        out = []
        for name, profile in manager.profiles.items():
            status = manager.backend(name).status()
            out.append(
                ModelInfo(
                    name=name,
                    label=profile.label,
                    source=profile.source,
                    active=name == manager.active_name,
                    configured_default=name == self.settings.default_model,
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
        backend = self._services.models.backend(self._profile(name))
        try:
            backend.load()
        except Exception as exc:
            raise AdminError("admin.error.model_load_failed", 502, detail=str(exc)) from None
        return self.model_info(name)

    def unload_model(self, name: str) -> ModelInfo:
        self._services.models.backend(self._profile(name)).unload()
        return self.model_info(name)

    def set_default_model(self, name: str) -> ModelInfo:
        """Chat uses `name` from now on (and after a restart); the previous one unloads."""
        self._services.models.set_active(self._profile(name))
        self._persist(_SETTING_DEFAULT_MODEL, name, self.settings.default_model)
        return self.model_info(name)

    # -- persisted admin choices -----------------------------------------------------------
    def _persist(self, key: str, value: str, replaced: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO admin_settings(key, value, replaced, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " replaced = excluded.replaced, updated_at = excluded.updated_at",
                (key, value, replaced, self._clock()),
            )

    def persisted(self) -> dict[str, dict[str, str]]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT key, value, replaced FROM admin_settings").fetchall()
        return {r["key"]: {"value": r["value"], "replaced": r["replaced"]} for r in rows}

    def apply_persisted(self) -> None:
        """Re-apply the admin's choices (start, restore) unless the setting they replaced
        has changed since: then the setting wins and the stale choice is dropped."""
        current = {
            _SETTING_DEFAULT_MODEL: self.settings.default_model,
            _SETTING_DEFAULT_PERSONA: self.settings.default_persona,
        }
        appliers: dict[str, Callable[[str], None]] = {
            _SETTING_DEFAULT_MODEL: lambda v: self._services.models.set_active(self._profile(v)),
            _SETTING_DEFAULT_PERSONA: self._apply_persona,
        }
        for key, choice in self.persisted().items():
            if key not in appliers:
                continue
            if choice["replaced"] != current[key]:
                log.info(
                    "IKAR_%s changed since the admin chose %r; using the setting",
                    key.upper(),
                    choice["value"],
                )
                with self.db.transaction() as conn:
                    conn.execute("DELETE FROM admin_settings WHERE key = ?", (key,))
                continue
            try:
                appliers[key](choice["value"])
                log.info("admin choice applied: %s=%s", key, choice["value"])
            except (AdminError, KeyError):
                log.warning("admin choice %s=%r no longer exists; ignored", key, choice["value"])

    # -- jobs and memory -------------------------------------------------------------------
    def queues(self) -> dict[str, Any]:
        media = self.media
        if media is None:
            raise AdminError("admin.error.media_unavailable", 404)
        jobs = [j.model_dump(mode="json") for j in media.jobs()]
        queues = getattr(media, "queues", None)
        stats = (
            {k: v.model_dump(mode="json") for k, v in queues.stats().items()}
            if queues is not None and hasattr(queues, "stats")
            else {}
        )
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
        data = status.model_dump(mode="json") if isinstance(status, BaseModel) else dict(status)
        return {"action": action, "changed": changed, "status": data}

    # -- metrics, logs, config -------------------------------------------------------------
    def metrics_summary(self) -> dict[str, Any]:
        return self._services.metrics.summary()

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
            entries = self._services.log_buffer.tail(
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
                "active_model": self._services.models.active_name,
                "default_persona": self.default_persona,
                "admin_choices": self.persisted(),
                "memory": self.memory is not None,
                "media": self.media is not None,
            },
        }

    # -- backup and restore ----------------------------------------------------------------
    @property
    def backups_dir(self) -> Path:
        return self.settings.resolved_cache_dir / "backups"

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
        self.apply_persisted()
        self._resync_memory()
        log.warning(
            "database restored from an upload",
            extra={"safety_backup": safety.name, "users": users},
        )
        return RestoreResult(safety_backup=safety.name, components=versions, users=users)

    def _resync_memory(self) -> None:
        """The vector index is derived from SQLite: re-check it after the rows changed."""
        keeper = getattr(self.memory, "keeper", None)
        check = getattr(keeper, "startup_check", None)
        if callable(check):
            try:
                check()
            except Exception:
                log.exception("memory index check after restore failed")
