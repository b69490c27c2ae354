"""Core memory: the user's profile, a few short facts that are always in the prompt.

Why: recall finds a fact only when the question resembles the turn that told it, and a
1.5B model given "Что ты помнишь: ..." lines far from the question still answers "I don't
know your cat's name". Letta's core memory and ChatGPT's saved memories keep a short
profile that is always in view; so does IKAR. After each turn, off the reply path, the
user's message is read by rules (memory/profile_rules.py, Russian and English: works with
any model) and, when configured, by the local model constrained to a JSON schema. Facts are
merged by (kind, subject): a newer statement replaces an older one of the same subject,
except one the user wrote or edited by hand. SQLite (`memory_profile`) is the truth; the
Memory tab and `/api/memory/profile` show, edit, pin and delete facts.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.storage.database import Database
from memory.config import ProfileConfig
from memory.profile_rules import extract_rule_facts
from memory.profile_types import (
    FACT_KINDS,
    MAX_FACT_CHARS,
    FactDraft,
    NewProfileFact,
    ProfileFact,
    ProfileFactPatch,
    ProfileStatus,
)
from memory.questions import is_bare_question

log = logging.getLogger(__name__)

PROFILE_MIGRATIONS: list[str] = [
    """
    CREATE TABLE memory_profile (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        persona_id TEXT,
        scope TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('rule', 'model', 'manual')),
        pinned INTEGER NOT NULL DEFAULT 0,
        message_id TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (user_id, scope, kind, subject)
    );
    CREATE INDEX memory_profile_by_message ON memory_profile(message_id);
    """,
]

# What the model is asked for (llama.cpp turns the schema into a grammar: always valid JSON).
FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": list(FACT_KINDS)},
                    "subject": {"type": "string", "maxLength": 40},
                    "text": {"type": "string", "maxLength": 120},
                },
                "required": ["kind", "subject", "text"],
            },
        }
    },
    "required": ["facts"],
}

FACTS_INSTRUCTION = (
    "You extract lasting personal facts about the USER from the user's message: their name, "
    "family and friends (with names), pets (with names), where they live, birthdays and "
    "dates, likes, dislikes, allergies. Only what the message states; never guess; nothing "
    "about the assistant. Each fact: kind, subject (one or two words naming what it is "
    "about, e.g. 'cat', 'sister Masha'), text (a short third-person sentence in the "
    'language of the message). Answer JSON: {"facts": [...]}; {"facts": []} if none.'
)

# ask(instruction, message, schema) -> the model's JSON text
AskModel = Callable[[str, str, dict[str, Any]], str]


@dataclass(frozen=True)
class _Job:
    user_id: str
    persona_id: str | None
    message_id: str
    role: str
    text: str
    rules_done: bool = False  # `observe` merged the rules' facts already


def _scope(persona_id: str | None) -> str:
    return persona_id or ""


def _subject(kind: str, subject: str, text: str) -> str:
    subject = " ".join(re.findall(r"[^\W_]+", (subject or "").lower()))[:60]
    if kind == "name":
        return "self"
    return subject or " ".join(re.findall(r"[^\W_]+", text.lower()))[:60]


def _row(row: sqlite3.Row) -> ProfileFact:
    return ProfileFact(
        id=row["id"],
        user_id=row["user_id"],
        persona_id=row["persona_id"],
        kind=row["kind"],
        subject=row["subject"],
        text=row["text"],
        source=row["source"],
        pinned=bool(row["pinned"]),
        message_id=row["message_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ProfileStore:
    """`memory_profile` rows: merge, list, edit; a `UserDataOwner` for export/delete."""

    data_tables: tuple[str, ...] = ("memory_profile",)

    def __init__(
        self, db: Database, max_per_user: int = 200, clock: Callable[[], float] = time.time
    ):
        self._db = db
        self._max = max_per_user
        self._clock = clock
        db.migrate("memory_profile", PROFILE_MIGRATIONS)

    # ----- writes by the extractors ---------------------------------------------------------

    def merge(
        self,
        user_id: str,
        persona_id: str | None,
        facts: Sequence[FactDraft],
        source: str,
        message_id: str | None,
    ) -> int:
        """Insert new facts, replace older ones of the same (kind, subject) unless the user
        wrote or edited them; returns how many rows changed."""
        now = self._clock()
        changed = 0
        with self._db.transaction() as conn:
            for fact in facts:
                text = " ".join(fact.text.split())[:MAX_FACT_CHARS]
                if not text or fact.kind not in FACT_KINDS:
                    continue
                subject = _subject(fact.kind, fact.subject, text)
                scope = _scope(persona_id)
                row = conn.execute(
                    "SELECT id, text, source FROM memory_profile"
                    " WHERE user_id = ? AND scope = ? AND kind = ? AND subject = ?",
                    (user_id, scope, fact.kind, subject),
                ).fetchone()
                if row is None:
                    same = conn.execute(
                        "SELECT 1 FROM memory_profile WHERE user_id = ? AND scope = ?"
                        " AND lower(text) = lower(?)",
                        (user_id, scope, text),
                    ).fetchone()
                    if same:  # the same fact under another subject (model vs rules)
                        continue
                    conn.execute(
                        "INSERT INTO memory_profile(user_id, persona_id, scope, kind, subject,"
                        " text, source, pinned, message_id, created_at, updated_at)"
                        " VALUES (?,?,?,?,?,?,?,0,?,?,?)",
                        (
                            user_id,
                            persona_id,
                            scope,
                            fact.kind,
                            subject,
                            text,
                            source,
                            message_id,
                            now,
                            now,
                        ),
                    )
                    changed += 1
                elif row["source"] != "manual" and row["text"] != text:
                    if source == "model" and row["source"] == "rule":
                        continue  # the rules' reading of a sentence beats the model's
                    conn.execute(
                        "UPDATE memory_profile SET text = ?, source = ?, message_id = ?,"
                        " updated_at = ? WHERE id = ?",
                        (text, source, message_id, now, row["id"]),
                    )
                    changed += 1
            if changed:
                self._trim(conn, user_id)
        return changed

    def _trim(self, conn: sqlite3.Connection, user_id: str) -> None:
        over = (
            conn.execute(
                "SELECT count(*) FROM memory_profile WHERE user_id = ?", (user_id,)
            ).fetchone()[0]
            - self._max
        )
        if over > 0:
            conn.execute(
                "DELETE FROM memory_profile WHERE id IN (SELECT id FROM memory_profile"
                " WHERE user_id = ? AND pinned = 0 AND source != 'manual'"
                " ORDER BY updated_at LIMIT ?)",
                (user_id, over),
            )

    def forget_messages(self, user_id: str, message_ids: Sequence[str]) -> int:
        """Facts read from messages that were edited away or regenerated over go too (not
        the ones the user pinned or edited)."""
        ids = [m for m in message_ids if m]
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._db.transaction() as conn:
            return conn.execute(
                f"DELETE FROM memory_profile WHERE user_id = ? AND message_id IN ({marks})"
                " AND pinned = 0 AND source != 'manual'",
                (user_id, *ids),
            ).rowcount

    # ----- the user's own edits (REST, the Memory tab) ------------------------------------

    def add(self, user_id: str, fact: NewProfileFact) -> ProfileFact:
        now = self._clock()
        text = " ".join(fact.text.split())
        subject = f"manual:{_subject('other', '', text)}"[:80]
        scope = _scope(fact.persona)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO memory_profile(user_id, persona_id, scope, kind, subject, text,"
                " source, pinned, created_at, updated_at) VALUES (?,?,?,?,?,?,'manual',?,?,?)"
                " ON CONFLICT(user_id, scope, kind, subject) DO UPDATE SET text = excluded.text,"
                " pinned = excluded.pinned, updated_at = excluded.updated_at",
                (
                    user_id,
                    fact.persona,
                    scope,
                    fact.kind,
                    subject,
                    text,
                    int(fact.pinned),
                    now,
                    now,
                ),
            )
            row = conn.execute(
                "SELECT * FROM memory_profile WHERE user_id = ? AND scope = ? AND kind = ?"
                " AND subject = ?",
                (user_id, scope, fact.kind, subject),
            ).fetchone()
        return _row(row)

    def update(self, user_id: str, fact_id: int, patch: ProfileFactPatch) -> ProfileFact | None:
        """Edit text/kind/pin; an edited fact becomes the user's own (never overwritten)."""
        sets: list[str] = []
        args: list[Any] = []
        if patch.text is not None:
            sets += ["text = ?", "source = 'manual'"]
            args.append(" ".join(patch.text.split()))
        if patch.kind is not None:
            sets.append("kind = ?")
            args.append(patch.kind)
        if patch.pinned is not None:
            sets.append("pinned = ?")
            args.append(int(patch.pinned))
        with self._db.transaction() as conn:
            if sets:
                try:
                    conn.execute(
                        f"UPDATE memory_profile SET {', '.join(sets)}, updated_at = ?"
                        " WHERE id = ? AND user_id = ?",
                        (*args, self._clock(), fact_id, user_id),
                    )
                except sqlite3.IntegrityError:  # the kind change collides with a fact
                    conn.execute(
                        "UPDATE memory_profile SET subject = subject || ':' || id"
                        " WHERE id = ? AND user_id = ?",
                        (fact_id, user_id),
                    )
                    conn.execute(
                        f"UPDATE memory_profile SET {', '.join(sets)}, updated_at = ?"
                        " WHERE id = ? AND user_id = ?",
                        (*args, self._clock(), fact_id, user_id),
                    )
            row = conn.execute(
                "SELECT * FROM memory_profile WHERE id = ? AND user_id = ?", (fact_id, user_id)
            ).fetchone()
        return _row(row) if row else None

    def delete(self, user_id: str, fact_id: int) -> bool:
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM memory_profile WHERE id = ? AND user_id = ?", (fact_id, user_id)
                ).rowcount
                > 0
            )

    # ----- reads -------------------------------------------------------------------------

    def list(
        self, user_id: str, persona_id: str | None = None, every: bool = False
    ) -> list[ProfileFact]:
        """The user's facts (user-wide plus `persona_id`'s, or all with `every=True`):
        pinned first, then the newest."""
        sql = "SELECT * FROM memory_profile WHERE user_id = ?"
        args: list[Any] = [user_id]
        if not every:
            sql += " AND scope IN ('', ?)"
            args.append(_scope(persona_id))
        sql += " ORDER BY pinned DESC, updated_at DESC, id DESC"
        with self._db.connect() as conn:
            return [_row(r) for r in conn.execute(sql, args)]

    def get(self, user_id: str, fact_id: int) -> ProfileFact | None:
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM memory_profile WHERE id = ? AND user_id = ?", (fact_id, user_id)
            ).fetchone()
        return _row(row) if row else None

    # ----- the user's data (UserDataOwner) ------------------------------------------------

    def count_user_data(self, user_id: str) -> dict[str, int]:
        with self._db.connect() as conn:
            n = conn.execute(
                "SELECT count(*) FROM memory_profile WHERE user_id = ?", (user_id,)
            ).fetchone()[0]
        return {"profile_facts": int(n)}

    def export_user_data(self, user_id: str) -> dict[str, Any]:
        return {
            "profile_facts": [f.model_dump(mode="json") for f in self.list(user_id, every=True)]
        }

    def delete_user_data(
        self, user_id: str, after_commit: Callable[[Callable[[], None]], None]
    ) -> dict[str, int]:
        with self._db.transaction() as conn:
            n = conn.execute("DELETE FROM memory_profile WHERE user_id = ?", (user_id,)).rowcount
        return {"profile_facts": n}


# What the prompt keeps first when there are more facts than lines: who the user is and what
# could hurt them before tastes; what the user wrote, then what the rules read, then the model.
_KIND_RANK = {
    k: i
    for i, k in enumerate(
        ("name", "allergy", "person", "pet", "place", "date", "promise", "like", "dislike", "other")
    )
}
_SOURCE_RANK = {"manual": 0, "rule": 1, "model": 2}


def _prompt_rank(fact: ProfileFact) -> tuple[int, int, int, float]:
    return (
        0 if fact.pinned else 1,
        _SOURCE_RANK.get(fact.source, 3),
        _KIND_RANK.get(fact.kind, 99),
        -fact.updated_at,
    )


_NAME_AFTER = re.compile(
    r"(?:name\s+is|name's|named|called|call\s+(?:me|them|him|her)|зовут|звать|"
    r"имя(?:\s+пользователя)?\s*(?:[:—–-]|это)?|name\s*[:—–-])\s*"
    r"([A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё'’-]{0,39})",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"\b([A-ZА-ЯЁ][a-zа-яё'’-]{1,39})\b")
_NOT_NAMES = frozenset(
    {"user", "user's", "users", "the", "name", "my", "имя", "пользователь", "пользователя", "моё"}
)


def name_in(text: str) -> str | None:
    """The name a "name" fact states: "The user's name is Anna", «Имя пользователя: Алексей»
    (the rules' wording), "User is called Anna" (the model's), or "Ann (Anya for friends)"
    typed in the Memory tab. None when no name can be read."""
    for match in _NAME_AFTER.finditer(text):  # a name is capitalised ("так зовут друзья")
        if match[1][:1].isupper() and match[1].lower() not in _NOT_NAMES:
            return match[1]
    for word in _CAPITALISED.findall(text):  # a name fact typed by hand: "Ann (Anya)"
        if word.lower() not in _NOT_NAMES:
            return word
    return None


_STEM = 5  # word stems: "lives"/"live", «Самаре»/«Самара» meet
# What every fact says around its content ("The user has a cat named ..."): not evidence.
_FRAME_WORDS = frozenset(
    """
    user user's users the and has have had named called name lives live living likes like
    loves love works work who with for about from that this his her their they them was
    are been being into also very пользователь пользователя пользователю пользователем
    зовут живет живёт любит работает имеет есть его она они это что как
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def _grounded(text: str, said: set[str]) -> bool:
    """More than half of the fact's own words (beyond the frame every fact has) come from
    the message.

    Why: a small model asked for facts about "tell me why the sky is blue, I always
    wondered" answers the question ("The sky is blue because ...") or tells the joke it was
    asked for; one shared word let such text in as a fact about the user."""
    words = [w for w in re.findall(r"[^\W_]{3,}", text.lower()) if w not in _FRAME_WORDS]
    if not words:
        return False
    found = sum(1 for w in words if w[:_STEM] in said)
    return found * 2 > len(words)


def parse_model_facts(raw: str, message: str) -> list[FactDraft]:
    """The model's JSON answer as drafts, keeping only facts grounded in the message (a
    word of the fact's subject or text must occur in it): a small model invents."""
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return []
    items = doc.get("facts") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return []
    said = {w[:_STEM] for w in re.findall(r"[^\W_]{3,}", message.lower())}
    out: list[FactDraft] = []
    for item in items[:5]:
        if not isinstance(item, dict):
            continue
        kind, subject, text = item.get("kind"), item.get("subject"), item.get("text")
        if kind not in FACT_KINDS or kind == "promise" or not isinstance(text, str):
            continue
        subject = subject if isinstance(subject, str) else ""
        if len(text.strip()) < 4 or text.rstrip().endswith("?"):  # a question is no fact
            continue
        if not _grounded(text, said):
            continue
        out.append(FactDraft(str(kind), subject, text.strip()))
    return out


class CoreMemory:
    """The profile: a store plus a background extractor (one daemon thread).

    `observe(...)` is called after a reply: the rules' facts are merged at once, the model
    (optionally) reads the message in the thread when the chat is quiet. `prompt_lines` is
    what the prompt's note shows."""

    def __init__(
        self,
        store: ProfileStore,
        config: ProfileConfig,
        ask_model: AskModel | None = None,
        model_busy: Callable[[], bool] | None = None,
        last_activity: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.ask_model = ask_model
        self.model_busy = model_busy
        # when the latest chat turn ended (the model is asked only after a quiet spell)
        self.last_activity = last_activity
        self.clock = clock
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._in_flight = 0
        self.extracted = 0
        self.model_runs = 0
        self.model_failures = 0
        self.last_error: str | None = None

    # ----- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self.config.enabled and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._run, name="memory-profile", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)
        self._thread = None

    def wait_idle(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # ----- the turn ----------------------------------------------------------------------

    def observe(
        self, user_id: str, persona_id: str | None, message_id: str, role: str, text: str
    ) -> None:
        """Read a message for facts (user messages: facts about the user; the companion's
        replies: its promises, kept per persona): the rules now, the model in the background.

        Why the rules now: they cost microseconds and one small write, while the model is
        asked only in a quiet spell; queued behind that ask, a fact told in the middle of a
        lively chat («сестра Маша живёт в Казани») reached the profile only after the chat
        paused, so the next turns' notes missed it (seen in the e2e run)."""
        if not self.config.enabled or not text.strip() or role not in ("user", "assistant"):
            return
        job = _Job(user_id, persona_id, message_id, role, text)
        try:
            self.extracted += self._merge_rules(job)
        except Exception as exc:  # a fact missed is no reason to fail the turn
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("profile rules failed")
        if role != "user" or not self._wants_model(text):
            return
        if self._queue.qsize() >= self.config.queue_max:
            return  # far behind: a fact said again will be caught then
        with self._idle:
            self._in_flight += 1
        self._queue.put(replace(job, rules_done=True))
        if self._thread is None:  # not started (tests, a CLI): do it now
            self._process_next()

    def extract_now(
        self, user_id: str, persona_id: str | None, message_id: str, role: str, text: str
    ) -> int:
        """Synchronous extraction (imports, tests); returns the facts changed."""
        return self._extract(_Job(user_id, persona_id, message_id, role, text))

    def prompt_lines(self, user_id: str, persona_id: str | None) -> list[str]:
        """The profile for the prompt, at most N lines: pinned first, then the user's own,
        the rules', the model's facts; within those, who the user is before tastes."""
        if not self.config.enabled or self.config.max_prompt_facts == 0:
            return []
        facts = sorted(self.store.list(user_id, persona_id), key=_prompt_rank)
        return [f.text for f in facts[: self.config.max_prompt_facts]]

    def user_name(self, user_id: str, persona_id: str | None = None) -> str | None:
        """The user's own name as the profile knows it (a "name" fact), or None.

        Why: the prompt's note and the memories' author then say "Алексей", not the
        configured "friend"; a name the user corrected or typed in the Memory tab wins
        (pinned, then manual, then the newest)."""
        if not self.config.enabled:
            return None
        facts = [f for f in self.store.list(user_id, persona_id) if f.kind == "name"]
        for fact in sorted(facts, key=_prompt_rank):
            name = name_in(fact.text)
            if name:
                return name
        return None

    def status(self) -> ProfileStatus:
        with self._idle:
            waiting = self._in_flight
        return ProfileStatus(
            enabled=self.config.enabled,
            model_extraction=self.config.model_extraction and self.ask_model is not None,
            queue=waiting,
            extracted=self.extracted,
            model_runs=self.model_runs,
            model_failures=self.model_failures,
            last_error=self.last_error,
        )

    # ----- the worker --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if not self._process_next(block=True):
                return

    def _process_next(self, block: bool = False) -> bool:
        try:
            job = self._queue.get(timeout=None if block else 0.1)
        except queue.Empty:
            return True
        if job is None:
            return False
        try:
            self._extract(job)
        except Exception as exc:  # a fact missed is no reason to stop the worker
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("profile extraction failed")
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
        return True

    def _merge_rules(self, job: _Job) -> int:
        scope = None if job.role == "user" else job.persona_id  # promises are the persona's
        return self.store.merge(
            job.user_id, scope, extract_rule_facts(job.text, job.role), "rule", job.message_id
        )

    def _extract(self, job: _Job) -> int:
        changed = 0 if job.rules_done else self._merge_rules(job)
        if job.role == "user" and self._wants_model(job.text):
            facts = self._ask(job.text)
            changed += self.store.merge(job.user_id, None, facts, "model", job.message_id)
        self.extracted += changed
        return changed

    def _quiet(self) -> bool:
        if self.model_busy is not None and self.model_busy():
            return False
        if self.last_activity is None:
            return True
        return self.clock() - self.last_activity() >= self.config.model_idle_s

    def _wants_model(self, text: str) -> bool:
        # A bare question or request tells nothing about the user (the rules still read
        # what it mentions in passing); asked anyway, a small model answers it as "facts".
        return (
            self.config.model_extraction
            and self.ask_model is not None
            and len(text.split()) >= self.config.model_min_words
            and not is_bare_question(text)
        )

    def _ask(self, text: str) -> list[FactDraft]:
        assert self.ask_model is not None
        # Chat turns come first: wait for a quiet spell (no turn generating, none for
        # `model_idle_s`); after 10 minutes without one, the rules' facts stand alone.
        # Read inline (no worker thread: tests, a CLI), the caller may be the turn that
        # keeps the model busy: never wait for it, the rules' facts stand.
        inline = threading.current_thread() is not self._thread
        deadline = time.monotonic() + (0 if inline else 600)
        while not self._quiet():
            if time.monotonic() >= deadline:
                return []
            time.sleep(0.5)
        self.model_runs += 1
        try:
            raw = self.ask_model(FACTS_INSTRUCTION, text[:1500], FACTS_SCHEMA)
        except Exception as exc:  # no model, a timeout: the rules' facts stand
            self.model_failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.info("profile: model extraction failed: %s", exc)
            return []
        return parse_model_facts(raw, text)
