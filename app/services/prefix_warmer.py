"""Keeps each persona's stable prompt prefix evaluated ahead of the first turn that needs it.

The backend saves the KV state of a persona's stable prefix (card, rules, examples) the first
time a prompt starts with it; the first turn of the first conversation pays that evaluation
(12.8 s for the default persona on 2 cores with the bundled model). This job pays it in the
background instead: for the default persona after start, for a persona that becomes the
default, and for a persona after an edit (whose old prefix state is freed: states are keyed
by their exact tokens, so an edited persona can never reuse it, it would only hold RAM and
disk). It takes the model only while no chat turn runs or waits (`TurnScheduler`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from app.services.models import ModelManager
from app.services.scheduling import TurnScheduler
from app.services.soul_turns import SoulPromptAssembler
from app.soul import SoulManager
from app.soul.errors import PersonaNotFoundError
from media.markers import marker_instructions
from models.types import ChatMessage

log = logging.getLogger(__name__)


class PrefixWarmer:
    """A background thread warming personas' prefixes, one at a time, when the model idles."""

    def __init__(
        self,
        models: ModelManager,
        prompts: SoulPromptAssembler,
        soul: SoulManager,
        scheduler: TurnScheduler,
        idle_poll_s: float = 1.0,
    ) -> None:
        self.models = models
        self.prompts = prompts
        self.soul = soul
        self.scheduler = scheduler
        self.idle_poll_s = idle_poll_s
        self._cond = threading.Condition()
        self._todo: OrderedDict[str, None] = OrderedDict()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The prefix last warmed for each persona (what an edit frees), per model.
        self._warmed: dict[tuple[str, str], list[ChatMessage]] = {}
        self._stale: list[list[ChatMessage]] = []  # prefixes of edited personas, to free
        self.warmed_count = 0

    # -- what to warm --------------------------------------------------------------------
    def warm(self, persona_id: str) -> None:
        """Warm this persona's prefix soon (in the background; repeated asks merge)."""
        with self._cond:
            self._todo[persona_id] = None
            self._cond.notify()

    def persona_saved(self, persona_id: str) -> None:
        """An edited persona: its old prefix state is freed and the new prefix warmed, by
        the job (the model may be generating now; an edit never waits for it)."""
        old = self._warmed.pop((self.models.backend().name, persona_id), None)
        if old is None:
            return
        with self._cond:
            self._stale.append(old)
        self.warm(persona_id)

    def prefix(self, persona_id: str) -> list[ChatMessage]:
        """The messages every new conversation with this persona starts with, including
        the media instructions the media hook adds for it."""
        persona = self.soul.get_persona(persona_id)
        media = marker_instructions(persona.language) if persona.settings.media_markers else None
        return self.prompts.stable_prefix(persona_id, media)

    # -- the job -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prefix-warmer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def warm_now(self, persona_id: str) -> bool:
        """Warm one persona's prefix now if the model is idle (the job's step; tests).
        Returns True when a saved state is ready, False when busy, short or failed."""
        backend = self.models.backend()
        if backend.status().state != "ready":
            return True  # never load a model just to warm it (the first turn warms it)
        ticket = self.scheduler.try_background(backend.name)
        if ticket is None:
            return False
        try:
            with self._cond:
                stale, self._stale = self._stale, []
            for old in stale:
                backend.invalidate(old)
            messages = self.prefix(persona_id)
            ready = backend.warm_prefix(messages)
        except PersonaNotFoundError:
            return True  # deleted meanwhile: nothing to do
        except Exception:
            log.exception("warming the prefix of %s failed", persona_id)
            return True  # not retried in a loop; the first turn makes it instead
        finally:
            self.scheduler.leave(ticket)
        if ready:
            self._warmed[(backend.name, persona_id)] = messages
            self.warmed_count += 1
            log.info("prompt prefix of %s is warm on %s", persona_id, backend.name)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while not self._todo and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                persona_id = next(iter(self._todo))
            try:
                done = self.warm_now(persona_id)
            except Exception:  # the model failed to load: /health says why
                log.exception("prefix warm-up of %s failed", persona_id)
                done = True
            if done:
                with self._cond:
                    self._todo.pop(persona_id, None)
            else:  # people are talking: try again when the model is idle
                self._stop.wait(self.idle_poll_s)
