"""`SoulManager`: the soul's service layer (personas, state per user and persona, history).

Synchronous at heart (the chat turn and the inner life call it from worker threads); the
`*_async` methods are what the API and the UI await: they decide the thread, not the caller.
Every change is one transaction that reads the state, applies a pure transition and writes
the state and a history row, so two concurrent turns cannot lose each other's update.

It owns its users' data (the `UserDataOwner` protocol, app/services/user_data.py): soul
states, their history, and the personas a user imported.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

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
from app.soul.errors import CardError, PersonaNotFoundError, PersonaProtectedError
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

DEFAULT_PERSONAS_DIR = Path(__file__).resolve().parents[2] / "config" / "personas"


class TurnResult(BaseModel):
    """What a user's message did to the soul, and how the persona reacts."""

    state: SoulState
    reaction: Reaction
    pause_text: str | None  # "..." when the persona answers with a pause, not model text
    sentiment: float
    triggers: tuple[TriggerHit, ...]


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

    # ----------------------------------------------------------------- personas
    def list_personas(self) -> list[PersonaSummary]:
        """All personas, shipped ones first."""
        summaries = []
        for row in self.repo.list_personas():
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

    def export_card(self, persona_id: str, fmt: CardFormat = "json") -> bytes:
        """The persona as a card file: `json`, or `png` (its avatar or a rendered one)."""
        persona = self.get_persona(persona_id)
        if fmt == "json":
            return card_to_json(persona.raw_card)
        if fmt == "png":
            return card_to_png(persona.raw_card, persona.avatar_png, persona.name)
        raise CardError("bad_format", format=repr(fmt))

    def export_filename(self, persona_id: str, fmt: CardFormat) -> str:
        """A safe download name such as `chatumba.png`."""
        persona = self.get_persona(persona_id)
        stem = "".join(c for c in persona.name if c.isalnum() or c in "-_ ").strip() or persona.id
        return f"{stem.replace(' ', '_')}.{fmt}"

    def update_persona(self, persona_id: str, update: PersonaUpdate) -> Persona:
        """Edit card fields (and the `ikar` settings); the rest of the card is kept."""
        persona = self.get_persona(persona_id)
        raw = json.loads(json.dumps(persona.raw_card))
        data = raw.setdefault("data", {})
        for field, value in update.model_dump(exclude_none=True, exclude={"ikar"}).items():
            data[field] = value
        if update.ikar is not None:
            data.setdefault("extensions", {})["ikar"] = update.ikar.model_dump(mode="json")
        if raw.get("spec") == "chara_card_v3":
            data["modification_date"] = int(self.clock())
        parsed = validate_card(raw, self.limits, avatar_png=persona.avatar_png)
        return self._store(
            persona_id,
            parsed,
            builtin=persona.builtin,
            created=persona.created_at,
            owner_id=persona.owner_id,
        )

    def update_lorebook(self, persona_id: str, entries: Sequence[LoreEntryEdit]) -> Persona:
        """Replace the lorebook's entries, in the given order; the rest of the card is kept.

        An edit with `source` keeps every other field (name, priority, extensions...) of that
        current entry (only its first edit does, so ids are not duplicated); entries without
        keys and content are dropped, as blank editor rows.
        """
        persona = self.get_persona(persona_id)
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
            persona_id,
            parsed,
            builtin=persona.builtin,
            created=persona.created_at,
            owner_id=persona.owner_id,
        )

    def set_avatar(self, persona_id: str, image: bytes | None) -> Persona:
        """Replace (or with None remove) the avatar; any image Pillow reads is accepted."""
        persona = self.get_persona(persona_id)
        avatar = normalize_avatar(image, self.limits) if image is not None else None
        parsed = ParsedCard(
            raw=persona.raw_card, card=persona.card, settings=persona.settings, avatar_png=avatar
        )
        return self._store(
            persona_id,
            parsed,
            builtin=persona.builtin,
            created=persona.created_at,
            owner_id=persona.owner_id,
        )

    def delete_persona(self, persona_id: str) -> None:
        """Delete an imported persona with its souls and history; shipped ones are protected."""
        persona = self.get_persona(persona_id)
        if persona.builtin:
            raise PersonaProtectedError(persona_id)
        with self.db.transaction() as conn:
            self.repo.delete_persona(conn, persona_id)
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
        persona = self.get_persona(persona_id)
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
        persona = self.get_persona(persona_id)
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
        persona = self.get_persona(persona_id)
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
        self.get_persona(persona_id)
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
    async def list_personas_async(self) -> list[PersonaSummary]:
        return await asyncio.to_thread(self.list_personas)

    async def get_persona_async(self, persona_id: str) -> Persona:
        return await asyncio.to_thread(self.get_persona, persona_id)

    async def import_card_async(
        self, data: bytes, filename: str | None = None, owner_id: str | None = None
    ) -> Persona:
        return await asyncio.to_thread(self.import_card, data, filename, owner_id)

    async def export_card_async(self, persona_id: str, fmt: CardFormat = "json") -> bytes:
        return await asyncio.to_thread(self.export_card, persona_id, fmt)

    async def export_filename_async(self, persona_id: str, fmt: CardFormat) -> str:
        return await asyncio.to_thread(self.export_filename, persona_id, fmt)

    async def update_persona_async(self, persona_id: str, update: PersonaUpdate) -> Persona:
        return await asyncio.to_thread(self.update_persona, persona_id, update)

    async def update_lorebook_async(
        self, persona_id: str, entries: Sequence[LoreEntryEdit]
    ) -> Persona:
        return await asyncio.to_thread(self.update_lorebook, persona_id, entries)

    async def delete_persona_async(self, persona_id: str) -> None:
        await asyncio.to_thread(self.delete_persona, persona_id)

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
        return self._to_persona(row, parsed)

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
