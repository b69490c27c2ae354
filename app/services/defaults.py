"""`RuntimeDefaults`: the default persona and model in effect now, one object for everyone.

The defaults come from `IKAR_DEFAULT_PERSONA` / `IKAR_DEFAULT_MODEL`, and an admin may change
them at run time. Whoever needs them (the soul's turn hook, the inner life, the admin
service, the UI) reads this one injected object, so a change applies everywhere at once.

Why an admin choice persists "over" a setting: it is stored with the setting it replaced and
re-applied at start only while that setting is unchanged, so editing the environment later
still wins (the database never silently overrides it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.services.errors import ServiceError
from app.services.models import ModelManager
from app.soul import PersonaInUseError, SoulError, SoulManager
from app.storage.database import Database

log = logging.getLogger(__name__)

# The admin's run-time choices; the component keeps its historical name "admin".
DEFAULTS_MIGRATIONS: list[str] = [
    """
    CREATE TABLE admin_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        replaced TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
]

PERSONA = "default_persona"
MODEL = "default_model"


class RuntimeDefaults:
    """The default persona of new chats and the model chat uses, with the admin's choices."""

    def __init__(
        self,
        db: Database,
        soul: SoulManager,
        models: ModelManager,
        configured_persona: str,
        configured_model: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.soul = soul
        self.models = models
        self.configured_persona = configured_persona
        self.configured_model = configured_model
        self._clock = clock
        self._persona = configured_persona
        self._lock = threading.Lock()
        # Told the new default persona (the prefix warmer prepares its prompt prefix).
        self.on_persona_changed: list[Callable[[str], None]] = []
        db.migrate("admin", DEFAULTS_MIGRATIONS)

    @property
    def persona(self) -> str:
        """The persona of a conversation that names none."""
        return self._persona

    @property
    def model(self) -> str:
        """The model chat uses now."""
        return self.models.active_name

    def set_persona(self, persona_id: str, persist: bool = True) -> None:
        """New chats use `persona_id` from now on (and after a restart, with `persist`)."""
        self.soul.get_persona(persona_id)  # PersonaNotFoundError (404) if it does not exist
        with self._lock:
            self._persona = persona_id
        if persist:
            self._persist(PERSONA, persona_id, self.configured_persona)
        for listener in self.on_persona_changed:
            listener(persona_id)

    def persona_deleted(self, persona_id: str) -> None:
        """Called inside the soul's deleting transaction: the configured default cannot go
        (`PersonaInUseError` rolls the delete back); an admin's choice falls back to it."""
        if persona_id == self.configured_persona:
            raise PersonaInUseError(persona_id)
        if persona_id == self._persona:
            with self._lock:
                self._persona = self.configured_persona
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM admin_settings WHERE key = ?", (PERSONA,))
            log.info("the default persona was deleted; back to %s", self.configured_persona)

    def set_model(self, name: str, persist: bool = True) -> None:
        """Chat uses `name` from now on (and after a restart); the previous one unloads."""
        if name not in self.models.profiles:
            raise ServiceError("admin.error.model_not_found", 404, model=name)
        self.models.set_active(name)
        if persist:
            self._persist(MODEL, name, self.configured_model)

    # -- persisted choices -----------------------------------------------------------------
    def _persist(self, key: str, value: str, replaced: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO admin_settings(key, value, replaced, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " replaced = excluded.replaced, updated_at = excluded.updated_at",
                (key, value, replaced, self._clock()),
            )

    def persisted(self) -> dict[str, dict[str, str]]:
        """The admin's stored choices: {key: {"value", "replaced"}}."""
        with self.db.connect() as conn:
            rows = conn.execute("SELECT key, value, replaced FROM admin_settings").fetchall()
        return {r["key"]: {"value": r["value"], "replaced": r["replaced"]} for r in rows}

    def apply_persisted(self) -> None:
        """Re-apply the admin's choices (start, restore) unless the setting they replaced
        has changed since: then the setting wins and the stale choice is dropped."""
        current = {MODEL: self.configured_model, PERSONA: self.configured_persona}
        appliers: dict[str, Callable[[str], None]] = {
            MODEL: lambda v: self.set_model(v, persist=False),
            PERSONA: lambda v: self.set_persona(v, persist=False),
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
            except (ServiceError, SoulError, KeyError):
                log.warning("admin choice %s=%r no longer exists; ignored", key, choice["value"])
