"""Errors raised by the soul library: `IkarError`s with a stable code and a "soul.error.*"
message key (texts in app/locales/soul.py).

Why codes: the REST layer answers with a status and the code, and the UI picks the message in
the user's language, without parsing strings.
"""

from __future__ import annotations

from typing import Any, Literal

from app.i18n import t
from config.errors import IkarError

Language = Literal["ru", "en"]


class SoulError(IkarError):
    """Base class: `code` is stable; the message is `soul.error.<code>` filled with params."""

    status_code = 400

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(str(params.pop("detail", "")), **params)
        self.code = code
        self.key = f"soul.error.{code}"
        self.args = (f"{self.message_en} [{code}]",)

    def message(self, language: Language | str = "en") -> str:
        """The message in the requested language."""
        return t(self.key, language, **self.message_params())

    @property
    def message_en(self) -> str:
        return self.message("en")

    @property
    def message_ru(self) -> str:
        return self.message("ru")


class CardError(SoulError):
    """A character card could not be imported or exported; nothing was stored."""


class PersonaNotFoundError(SoulError):
    """No persona with that id."""

    status_code = 404

    def __init__(self, persona_id: str) -> None:
        super().__init__("persona_not_found", persona=persona_id)


class PersonaProtectedError(SoulError):
    """The operation is not allowed on a persona shipped with IKAR."""

    status_code = 409

    def __init__(self, persona_id: str) -> None:
        super().__init__("persona_builtin", persona=persona_id)


class PersonaNotYoursError(SoulError):
    """Only the user who imported a persona may delete it (or change it in place)."""

    status_code = 403

    def __init__(self, persona_id: str) -> None:
        super().__init__("persona_not_yours", persona=persona_id)


class PersonaInUseError(SoulError):
    """The persona is the configured default of new chats (IKAR_DEFAULT_PERSONA)."""

    status_code = 409

    def __init__(self, persona_id: str) -> None:
        super().__init__("persona_in_use", persona=persona_id)


class PromptBudgetError(SoulError):
    """Even the smallest prompt (persona card + the new message) does not fit the context."""

    def __init__(self, needed: int, budget: int) -> None:
        super().__init__("prompt_too_large", needed=needed, budget=budget)
        self.needed = needed
        self.budget = budget
