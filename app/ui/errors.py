"""The one UI error handler: any `IkarError` becomes a Gradio warning in the user's language.

Tabs catch `IkarError` (the base of every deliberate failure, config/errors.py) around a
service call and hand it here; the text comes from the one catalogue, like the API's.
"""

from __future__ import annotations

import gradio as gr

from app.errors import message
from app.i18n import t
from app.services.turns import TurnFailure
from config.errors import IkarError


def warn(exc: IkarError, lang: str | None) -> str:
    """Show `exc` as a warning toast; returns the text (for a status line)."""
    text = message(exc, lang)
    warning(text, lang)
    return text


def warning(text: str, lang: str | None) -> None:
    """A warning toast titled in the user's language (gradio's own title is English)."""
    gr.Warning(text, title=t("toast.warning", lang))


def info(text: str, lang: str | None) -> None:
    """An information toast titled in the user's language."""
    gr.Info(text, title=t("toast.info", lang))


def failure_text(failure: TurnFailure, lang: str | None) -> str:
    """The message of a failed chat turn (the `error` event's `TurnFailure`)."""
    return t(failure.key, lang, **failure.params)
