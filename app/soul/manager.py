"""`SoulManager`: the soul's service layer (personas, state per user and persona, history).

Synchronous at heart (the chat turn and the inner life call it from worker threads); the
`*_async` methods are what the API and the UI await: they decide the thread, not the caller.
Every change is one transaction that reads the state, applies a pure transition and writes
the state and a history row, so two concurrent turns cannot lose each other's update.

It owns its users' data (the `UserDataOwner` protocol, app/services/user_data.py): soul
states, their history, and the personas a user imported.

Who may do what with a persona (docs/security.md):
- a user sees and uses the shipped personas, shared ones (no owner: imported before owners
  were recorded), the default persona of new chats, and the ones they imported; the admin's
  views pass `everyone=True`; anything else is "not found", as if it did not exist;
- shipped and shared personas are read-only: an edit makes the user's own copy (as
  SillyTavern's duplicate does) and leaves the original to everyone else;
- only the owner deletes a persona; the conversations that used it go on with the default
  persona (`on_persona_deleted` listeners: the chat service, the runtime defaults).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

from app.soul.card import LoreEntryEdit, Persona, PersonaSummary, PersonaUpdate
from app.soul.card_codec import (
    CardFormat,
    CardLimits,
    ParsedCard,
    card_to_json,
    card_to_png,
    normalize_avatar,
    parse_card,
    validate_card,
)
from app.soul.daily import daily_personality, stable_seed
from app.soul.errors import (
    CardError,
    PersonaNotFoundError,
    PersonaNotYoursError,
    PersonaProtectedError,
)
from app.soul.reactions import choose_reaction, pause_reply
from app.soul.repository import PersonaRow, SoulHistoryPoint, SoulRepository
from app.soul.state import Reaction, SoulState
from app.soul.transitions import (
    SoulAction,
    TurnEvent,
    add_thought,
    apply_action,
    apply_turn,
    decay,
    effective_baseline,
    new_state,
    record_reaction,
    with_daily,
)
from app.soul.triggers import TriggerDetector, TriggerHit
from app.storage.database import Database
from config.errors import check_upload_size

log = logging.getLogger(__name__)

DEFAULT_PERSONAS_DIR = Path(__file__).resolve().parents[2] / "config" / "personas"


class TurnResult(BaseModel):
    """What a user's message did to the soul, and how the persona reacts."""

    state: SoulState
    reaction: Reaction
    pause_text: str | None  # "..." when the persona answers with a pause, not model text
    sentiment: float
    triggers: tuple[TriggerHit, ...]


class _EditTarget(NamedTuple):
    id: str
    owner: str | None
    created: float | None


class SoulManager:
    """Personas and their souls, persisted in the shared `Database`."""

    def __init__(
        self,
        db: Database,
        *,
        limits: CardLimits | None = None,
        tz: tzinfo | None = None,
        history_keep: int = 5000,
        clock: Callable[[], float] = time.time,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.repo = SoulRepository(db)
        self.max_upload_bytes = max_upload_bytes
        self.db = db
        self.limits = limits or CardLimits()
        self.tz = tz  # None: the machine's local time decides when a new day starts
        self.history_keep = history_keep
        self.clock = clock
        self._lock = threading.Lock()
        self._personas: dict[str, Persona] = {}
        self._detectors: dict[tuple[str, float], TriggerDetector] = {}
        # Personas everyone may use whoever owns them: the default of new chats (the
        # composition root points this at `RuntimeDefaults`).
        self.shared_ids: Callable[[], Collection[str]] = lambda: ()
        # Called with a deleted persona's id inside the deleting transaction, so whoever
        # refers to it (conversations, the default persona) lets go in the same commit.
        self.on_persona_deleted: list[Callable[[str], None]] = []
        # Called with a persona's id after it was stored (imported, edited, new avatar), so
        # what was derived from the old card (a model's saved prompt prefix) is made again.
        self.on_persona_saved: list[Callable[[str], None]] = []

    # ----------------------------------------------------------------- personas
    def visible_to(self, persona: Persona | PersonaRow, user_id: str | None) -> bool:
        """Whether `user_id` may see and use the persona (None: nobody in particular)."""
        return (
            persona.builtin
            or persona.owner_id is None
            or (user_id is not None and persona.owner_id == user_id)
            or persona.id in self.shared_ids()
        )

    def list_personas(
        self, user_id: str | None = None, *, everyone: bool = False
    ) -> list[PersonaSummary]:
        """The personas `user_id` may use (`everyone`: all, for the admin), shipped first."""
        summaries = []
        for row in self.repo.list_personas():
            if not everyone and not self.visible_to(row, user_id):
                continue
            persona = self._to_persona(row)
            data = persona.card.data
            summaries.append(
                PersonaSummary(
                    id=persona.id,
                    name=persona.name,
                    spec=persona.card.spec,
                    language=persona.language,
                    builtin=persona.builtin,
                    has_avatar=persona.avatar_png is not None,
                    tags=list(data.tags),
                    creator_notes=data.creator_notes,
                    updated_at=persona.updated_at,
                )
            )
        return summaries

    def get_persona(self, persona_id: str) -> Persona:
        """The persona, or `PersonaNotFoundError`."""
        version = self.repo.persona_version(persona_id)
        if version is None:
            raise PersonaNotFoundError(persona_id)
        with self._lock:
            cached = self._personas.get(persona_id)
        if cached is not None and cached.updated_at == version:
            return cached
        row = self.repo.get_persona(persona_id)
        if row is None:
            raise PersonaNotFoundError(persona_id)
        return self._to_persona(row)

    def persona_for(self, user_id: str, persona_id: str) -> Persona:
        """The persona if `user_id` may use it, else `PersonaNotFoundError` (also for one
        that exists but is someone else's: its existence is theirs too)."""
        persona = self.get_persona(persona_id)
        if not self.visible_to(persona, user_id):
            raise PersonaNotFoundError(persona_id)
        return persona

    def import_card(
        self, data: bytes, filename: str | None = None, owner_id: str | None = None
    ) -> Persona:
        """Import a JSON or PNG card as a new persona of `owner_id` (who uploaded it);
        `FileTooLargeError` (413) over the upload limit, `CardError` leaves nothing behind."""
        if self.max_upload_bytes is not None:
            check_upload_size(data, self.max_upload_bytes)
        parsed = parse_card(data, filename, self.limits)
        persona_id = "p-" + uuid.uuid4().hex[:12]
        return self._store(persona_id, parsed, builtin=False, owner_id=owner_id)

    def export_card(
        self, persona_id: str, fmt: CardFormat = "json", user_id: str | None = None
    ) -> bytes:
        """The persona as a card file: `json`, or `png` (its avatar or a rendered one);
        with `user_id`, only a persona that user may use."""
        persona = self._readable(persona_id, user_id)
        if fmt == "json":
            return card_to_json(persona.raw_card)
        if fmt == "png":
            return card_to_png(persona.raw_card, persona.avatar_png, persona.name)
        raise CardError("bad_format", format=repr(fmt))

    def export_filename(self, persona_id: str, fmt: CardFormat, user_id: str | None = None) -> str:
        """A safe download name such as `chatumba.png`."""
        persona = self._readable(persona_id, user_id)
        stem = "".join(c for c in persona.name if c.isalnum() or c in "-_ ").strip() or persona.id
        return f"{stem.replace(' ', '_')}.{fmt}"

    def update_persona(self, persona_id: str, update: PersonaUpdate, user_id: str) -> Persona:
        """Edit card fields (and the `ikar` settings); the rest of the card is kept.

        The user's own persona changes in place; a shipped or shared one is copied first
        (the copy, the user's, is returned: its id is new)."""
        persona, target = self._editable(persona_id, user_id)
        raw = json.loads(json.dumps(persona.raw_card))
        data = raw.setdefault("data", {})
        for field, value in update.model_dump(exclude_none=True, exclude={"ikar"}).items():
            data[field] = value
        if update.ikar is not None:
            # Keys this version does not know (a newer IKAR's) stay in the card.
            extensions = data.setdefault("extensions", {})
            known = extensions.get("ikar")
            kept = known if isinstance(known, dict) else {}
            extensions["ikar"] = {**kept, **update.ikar.model_dump(mode="json")}
        if raw.get("spec") == "chara_card_v3":
            data["modification_date"] = int(self.clock())
        parsed = validate_card(raw, self.limits, avatar_png=persona.avatar_png)
        return self._store(
            target.id, parsed, builtin=False, created=target.created, owner_id=target.owner
        )

    def update_lorebook(
        self, persona_id: str, entries: Sequence[LoreEntryEdit], user_id: str
    ) -> Persona:
        """Replace the lorebook's entries, in the given order; the rest of the card is kept.

        An edit with `source` keeps every other field (name, priority, extensions...) of that
        current entry (only its first edit does, so ids are not duplicated); entries without
        keys and content are dropped, as blank editor rows. Ownership as `update_persona`.
        """
        persona, target = self._editable(persona_id, user_id)
        raw = json.loads(json.dumps(persona.raw_card))
        data = raw.setdefault("data", {})
        book = data.get("character_book")
        old = book.get("entries", []) if isinstance(book, dict) else []
        used: set[int] = set()
        new_entries: list[dict[str, Any]] = []
        for edit in entries:
            keys = [key.strip() for key in edit.keys if key.strip()]
            content = edit.content.strip()
            if not keys and not content:
                continue
            entry: dict[str, Any] = {"extensions": {}, "use_regex": False}
            src = edit.source
            if src is not None and src < len(old) and src not in used:
                used.add(src)
                entry = dict(old[src])
            entry.update(
                keys=keys,
                content=content,
                enabled=edit.enabled,
                insertion_order=edit.insertion_order,
            )
            new_entries.append(entry)
        if not isinstance(book, dict):
            if not new_entries:
                return persona
            book = {"extensions": {}, "entries": []}
        data["character_book"] = {**book, "entries": new_entries}
        if raw.get("spec") == "chara_card_v3":
            data["modification_date"] = int(self.clock())
        parsed = validate_card(raw, self.limits, avatar_png=persona.avatar_png)
        return self._store(
            target.id, parsed, builtin=False, created=target.created, owner_id=target.owner
        )

    def set_avatar(self, persona_id: str, image: bytes | None, user_id: str) -> Persona:
        """Replace (or with None remove) the avatar; any image Pillow reads is accepted.
        Ownership as `update_persona`."""
        persona, target = self._editable(persona_id, user_id)
        avatar = normalize_avatar(image, self.limits) if image is not None else None
        parsed = ParsedCard(
            raw=persona.raw_card, card=persona.card, settings=persona.settings, avatar_png=avatar
        )
        return self._store(
            target.id, parsed, builtin=False, created=target.created, owner_id=target.owner
        )

    def delete_persona(self, persona_id: str, user_id: str) -> None:
        """Delete the user's own persona with its souls and history (anyone's souls with
        it: the persona is gone). Shipped ones are protected (409), someone else's are not
        found (404), shared ones are not the user's (403). Conversations that used it go
        on with the default persona."""
        persona = self.persona_for(user_id, persona_id)
        if persona.builtin:
            raise PersonaProtectedError(persona_id)
        if persona.owner_id != user_id:
            raise PersonaNotYoursError(persona_id)
        with self.db.transaction() as conn:
            self.repo.delete_persona(conn, persona_id)
            self._deleted([persona_id])
        with self._lock:
            self._personas.pop(persona_id, None)

    def seed_builtin_personas(self, directory: Path | None = None) -> list[str]:
        """Add the shipped cards (`<id>.json`) that are not in the database yet.

        Existing ones are left alone, so a user's edits survive upgrades. A broken shipped
        card raises `CardError`: that is a packaging bug, not user input.
        """
        directory = directory or DEFAULT_PERSONAS_DIR
        added = []
        for path in sorted(directory.glob("*.json")):
            persona_id = path.stem
            if self.repo.persona_version(persona_id) is not None:
                continue
            parsed = parse_card(path.read_bytes(), path.name, self.limits)
            self._store(persona_id, parsed, builtin=True)
            added.append(persona_id)
        return added

    # -------------------------------------------------------------------- souls
    def get_state(self, user_id: str, persona_id: str, now: float | None = None) -> SoulState:
        """The soul as of `now`: created at the baseline on first use, with idle decay and
        today's personality applied (decay is recomputed from the stored state, not saved)."""
        now = self.clock() if now is None else now
        persona = self.persona_for(user_id, persona_id)
        with self.db.transaction() as conn:
            stored = self.repo.load_state(conn, user_id, persona_id)
            if stored is None:
                state = self._new_state(user_id, persona, now)
                self.repo.save_state(conn, user_id, persona_id, state, "created")
                return state
        return self._current(stored, user_id, persona, now)

    def on_user_turn(
        self, user_id: str, persona_id: str, text: str, now: float | None = None
    ) -> TurnResult:
        """Apply the user's message to the soul and choose the reaction for the reply."""
        now = self.clock() if now is None else now
        persona = self.persona_for(user_id, persona_id)
        event = TurnEvent.analyze(text, now, self._detector(persona))
        with self.db.transaction() as conn:
            state = self._load_current(conn, user_id, persona, now)
            rng = random.Random(
                stable_seed("turn", user_id, persona_id, str(state.turns), repr(now))
            )
            state = apply_turn(state, event, rng, persona.settings)
            reaction = choose_reaction(state, persona.settings, rng)
            state = record_reaction(state, reaction)
            pause = pause_reply(reaction, state, rng)
            self.repo.save_state(
                conn, user_id, persona_id, state, "turn", reaction.value, self.history_keep
            )
        return TurnResult(
            state=state,
            reaction=reaction,
            pause_text=pause,
            sentiment=event.sentiment,
            triggers=event.triggers,
        )

    def apply_action(
        self, user_id: str, persona_id: str, action: SoulAction, now: float | None = None
    ) -> SoulState:
        """Apply an explicit soul action (trauma, crisis, growth, awakening, reset)."""
        now = self.clock() if now is None else now
        persona = self.persona_for(user_id, persona_id)
        if not action.at:
            action = action.model_copy(update={"at": now})
        with self.db.transaction() as conn:
            state = self._load_current(conn, user_id, persona, now)
            rng = random.Random(
                stable_seed("action", user_id, persona_id, str(state.turns), repr(now))
            )
            baseline = effective_baseline(persona.settings.baseline, state.daily)
            state = apply_action(state, action, rng, baseline)
            self.repo.save_state(
                conn, user_id, persona_id, state, f"action:{action.kind.value}", None,
                self.history_keep,
            )  # fmt: skip
        return state

    def add_thought(
        self, user_id: str, persona_id: str, text: str, now: float | None = None
    ) -> SoulState:
        """Remember an inner thought produced by the background loop."""
        now = self.clock() if now is None else now
        persona = self.get_persona(persona_id)
        with self.db.transaction() as conn:
            state = self._load_current(conn, user_id, persona, now)
            state = add_thought(state, text, now)
            self.repo.save_state(
                conn, user_id, persona_id, state, "thought", None, self.history_keep
            )
        return state

    def history(
        self, user_id: str, persona_id: str, limit: int = 500, since: float | None = None
    ) -> list[SoulHistoryPoint]:
        """Points for plotting, oldest first (the newest `limit` of them)."""
        self.persona_for(user_id, persona_id)
        return self.repo.history(user_id, persona_id, max(1, min(limit, 10_000)), since)

    # ------------------------------------------------- the user's data (UserDataOwner)
    data_tables: tuple[str, ...] = ("soul_state", "soul_history", "soul_personas")

    def count_user_data(self, user_id: str) -> dict[str, int]:
        return {
            "souls": len(self.repo.states_of(user_id)),
            "personas": len(self.repo.personas_owned_by(user_id)),
        }

    def export_user_data(self, user_id: str) -> dict[str, Any]:
        """The user's souls (state per persona), their history, and the personas they
        imported (whole cards, avatars as base64)."""
        souls = [
            {
                "persona_id": r["persona_id"],
                "state": json.loads(r["state_json"]),
                "updated_at": r["updated_at"],
            }
            for r in self.repo.states_of(user_id)
        ]
        history = [
            {"persona_id": persona_id, **point.model_dump(mode="json")}
            for persona_id, point in self.repo.history_of(user_id)
        ]
        personas = [
            {
                "id": row.id,
                "name": row.name,
                "card": json.loads(row.card_json),
                "avatar_png_base64": (
                    base64.b64encode(row.avatar_png).decode("ascii") if row.avatar_png else None
                ),
                "created_at": row.created_at,
                "updated_at": row.updated_at,
            }
            for row in self.repo.personas_owned_by(user_id)
        ]
        return {"soul": souls, "soul_history": history, "personas": personas}

    def delete_user_data(
        self,
        user_id: str,
        after_commit: Callable[[Callable[[], None]], None] | None = None,
    ) -> dict[str, int]:
        """Forget every soul of this user and the personas they imported (whose souls, of
        anyone, go with them). Joins the caller's transaction."""
        counts = self.count_user_data(user_id)
        with self.db.transaction() as conn:
            self.repo.delete_user(conn, user_id)
            removed = self.repo.delete_owned_personas(conn, user_id)
            self._deleted(removed)

        def forget_cached() -> None:
            with self._lock:
                for persona_id in removed:
                    self._personas.pop(persona_id, None)

        if after_commit is not None:
            after_commit(forget_cached)
        else:
            forget_cached()
        return counts

    # ------------------------------------------ async views (for the API and the UI)
    async def list_personas_async(
        self, user_id: str | None = None, *, everyone: bool = False
    ) -> list[PersonaSummary]:
        return await asyncio.to_thread(lambda: self.list_personas(user_id, everyone=everyone))

    async def get_persona_async(self, persona_id: str) -> Persona:
        return await asyncio.to_thread(self.get_persona, persona_id)

    async def import_card_async(
        self, data: bytes, filename: str | None = None, owner_id: str | None = None
    ) -> Persona:
        return await asyncio.to_thread(self.import_card, data, filename, owner_id)

    async def persona_for_async(self, user_id: str, persona_id: str) -> Persona:
        return await asyncio.to_thread(self.persona_for, user_id, persona_id)

    async def export_card_async(
        self, persona_id: str, fmt: CardFormat = "json", user_id: str | None = None
    ) -> bytes:
        return await asyncio.to_thread(self.export_card, persona_id, fmt, user_id)

    async def export_filename_async(
        self, persona_id: str, fmt: CardFormat, user_id: str | None = None
    ) -> str:
        return await asyncio.to_thread(self.export_filename, persona_id, fmt, user_id)

    async def update_persona_async(
        self, persona_id: str, update: PersonaUpdate, user_id: str
    ) -> Persona:
        return await asyncio.to_thread(self.update_persona, persona_id, update, user_id)

    async def update_lorebook_async(
        self, persona_id: str, entries: Sequence[LoreEntryEdit], user_id: str
    ) -> Persona:
        return await asyncio.to_thread(self.update_lorebook, persona_id, entries, user_id)

    async def delete_persona_async(self, persona_id: str, user_id: str) -> None:
        await asyncio.to_thread(self.delete_persona, persona_id, user_id)

    async def get_state_async(self, user_id: str, persona_id: str) -> SoulState:
        return await asyncio.to_thread(self.get_state, user_id, persona_id)

    async def history_async(
        self, user_id: str, persona_id: str, limit: int = 500
    ) -> list[SoulHistoryPoint]:
        return await asyncio.to_thread(self.history, user_id, persona_id, limit)

    async def apply_action_async(
        self, user_id: str, persona_id: str, action: SoulAction
    ) -> SoulState:
        return await asyncio.to_thread(self.apply_action, user_id, persona_id, action)

    def today(self, now: float) -> date:
        """The calendar day `now` falls on in the manager's time zone."""
        return datetime.fromtimestamp(now, self.tz).date()

    # ----------------------------------------------------------------- internals
    def _readable(self, persona_id: str, user_id: str | None) -> Persona:
        if user_id is None:
            return self.get_persona(persona_id)
        return self.persona_for(user_id, persona_id)

    def _editable(self, persona_id: str, user_id: str) -> tuple[Persona, _EditTarget]:
        """The persona and where the user's edit of it is stored: in place when it is
        theirs, else (shipped or shared) as a new copy that is theirs, made only once the
        edit is valid."""
        persona = self.persona_for(user_id, persona_id)
        if persona.owner_id == user_id and not persona.builtin:
            return persona, _EditTarget(persona.id, persona.owner_id, persona.created_at)
        return persona, _EditTarget("p-" + uuid.uuid4().hex[:12], user_id, None)

    def _deleted(self, persona_ids: Sequence[str]) -> None:
        """Tell the listeners (inside the deleting transaction)."""
        for persona_id in persona_ids:
            for listener in self.on_persona_deleted:
                listener(persona_id)

    def _new_state(self, user_id: str, persona: Persona, now: float) -> SoulState:
        daily = daily_personality(user_id, persona.id, self.today(now))
        return new_state(persona.settings.baseline, now, daily)

    def _current(self, state: SoulState, user_id: str, persona: Persona, now: float) -> SoulState:
        """Refresh the daily personality when the day changed, then decay the idle time."""
        day = self.today(now)
        if state.daily is None or state.daily.day != day.isoformat():
            state = with_daily(state, daily_personality(user_id, persona.id, day))
        baseline = effective_baseline(persona.settings.baseline, state.daily)
        return decay(state, now - state.updated_at, baseline, persona.settings.decay_half_life_s)

    def _load_current(self, conn: Any, user_id: str, persona: Persona, now: float) -> SoulState:
        stored = self.repo.load_state(conn, user_id, persona.id)
        if stored is None:
            return self._new_state(user_id, persona, now)
        return self._current(stored, user_id, persona, now)

    def _detector(self, persona: Persona) -> TriggerDetector:
        key = (persona.id, persona.updated_at)
        with self._lock:
            detector = self._detectors.get(key)
        if detector is None:
            detector = TriggerDetector(persona.settings.trigger_words, persona.name)
            with self._lock:
                self._detectors = {k: v for k, v in self._detectors.items() if k[0] != persona.id}
                self._detectors[key] = detector
        return detector

    def _store(
        self,
        persona_id: str,
        parsed: ParsedCard,
        *,
        builtin: bool,
        created: float | None = None,
        owner_id: str | None = None,
    ) -> Persona:
        now = self.clock()
        previous = self.repo.persona_version(persona_id)
        updated = now if previous is None or now > previous else previous + 1e-6
        row = PersonaRow(
            id=persona_id,
            name=parsed.card.data.name,
            card_json=json.dumps(parsed.raw, ensure_ascii=False),
            avatar_png=parsed.avatar_png,
            builtin=builtin,
            created_at=created if created is not None else now,
            updated_at=updated,
            owner_id=owner_id,
        )
        with self.db.transaction() as conn:
            self.repo.upsert_persona(conn, row)
        persona = self._to_persona(row, parsed)
        for listener in self.on_persona_saved:
            try:
                listener(persona_id)
            except Exception:  # derived caches must never fail a saved edit
                log.exception("persona listener failed for %s", persona_id)
        return persona

    def _to_persona(self, row: PersonaRow, parsed: ParsedCard | None = None) -> Persona:
        with self._lock:
            cached = self._personas.get(row.id)
        if cached is not None and cached.updated_at == row.updated_at and parsed is None:
            return cached
        if parsed is None:
            parsed = validate_card(json.loads(row.card_json), self.limits, row.avatar_png)
        persona = Persona(
            id=row.id,
            name=row.name,
            card=parsed.card,
            raw_card=parsed.raw,
            settings=parsed.settings,
            avatar_png=row.avatar_png,
            builtin=row.builtin,
            created_at=row.created_at,
            updated_at=row.updated_at,
            owner_id=row.owner_id,
        )
        with self._lock:
            self._personas[row.id] = persona
        return persona


def card_format(value: str) -> Literal["json", "png"]:
    """Parse an export format from a query string (`CardError` for anything else)."""
    if value in ("json", "png"):
        return value  # type: ignore[return-value]
    raise CardError("bad_format", format=repr(value))
