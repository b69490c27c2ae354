"""Relabelling every registered component when the user switches the UI language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from app.i18n import t


@dataclass
class Labels:
    """Components and the i18n keys they show; one language switch updates them all."""

    entries: list[tuple[Any, dict[str, str]]] = field(default_factory=list)

    def add(self, component: Any, **keys: str) -> Any:
        """Register `component`; keys map an attribute (label, value, placeholder) to a key."""
        self.entries.append((component, keys))
        return component

    @property
    def components(self) -> list[Any]:
        return [component for component, _ in self.entries]

    def updates(self, lang: str) -> list[Any]:
        out: list[Any] = []
        for _, keys in self.entries:
            changes: dict[str, Any] = {attr: t(key, lang) for attr, key in keys.items()}
            out.append(gr.update(**changes))
        return out
