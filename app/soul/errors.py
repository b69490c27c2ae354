"""Errors raised by the soul library, each with a stable code and a Russian and English text.

Why codes: the REST layer maps them to HTTP statuses and the UI picks the message in the
user's language, without parsing strings.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["ru", "en"]


class SoulError(Exception):
    """Base class: `code` is stable, `message_en`/`message_ru` are shown to people."""

    def __init__(self, code: str, message_en: str, message_ru: str) -> None:
        super().__init__(f"{message_en} [{code}]")
        self.code = code
        self.message_en = message_en
        self.message_ru = message_ru

    def message(self, language: Language = "en") -> str:
        """The message in the requested language."""
        return self.message_ru if language == "ru" else self.message_en


class CardError(SoulError):
    """A character card could not be imported or exported; nothing was stored."""


class PersonaNotFoundError(SoulError):
    """No persona with that id."""

    def __init__(self, persona_id: str) -> None:
        super().__init__(
            "persona_not_found",
            f"Persona '{persona_id}' does not exist.",
            f"Персона «{persona_id}» не найдена.",
        )


class PersonaProtectedError(SoulError):
    """The operation is not allowed on a persona shipped with IKAR."""

    def __init__(self, persona_id: str) -> None:
        super().__init__(
            "persona_builtin",
            f"Persona '{persona_id}' ships with IKAR and cannot be deleted.",
            f"Персона «{persona_id}» встроена в IKAR, её нельзя удалить.",
        )


class PromptBudgetError(SoulError):
    """Even the smallest prompt (persona card + the new message) does not fit the context."""

    def __init__(self, needed: int, budget: int) -> None:
        super().__init__(
            "prompt_too_large",
            f"The prompt needs {needed} tokens but only {budget} fit; shorten the message.",
            f"Запросу нужно {needed} токенов, а помещается {budget}; сократите сообщение.",
        )
        self.needed = needed
        self.budget = budget
