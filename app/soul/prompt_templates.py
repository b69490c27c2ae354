"""The editable Jinja2 prompt templates under `config/prompts/soul/`, in a sandbox.

Why sandboxed and data-only: templates are files a user may edit, and every value passed in
(card text, memories, lore) is data that Jinja prints as-is; user text is never template
source, so `{{ ... }}` or `{% ... %}` typed by a user is inert. The environment is immutable
(no attribute writes from templates) and strict (a typo in a template fails loudly).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "config" / "prompts" / "soul"
TemplateName = Literal["system", "note", "thought", "first_message"]


class PromptTemplates:
    """Renders `<name>.<language>.j2`; edits to the files apply on the next render."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or DEFAULT_PROMPTS_DIR
        self._env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(self.directory)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=True,
        )

    def render(self, name: TemplateName, language: str, **context: Any) -> str:
        """The rendered text, stripped; `language` is 'ru' or 'en' (anything else: 'en')."""
        lang = language if language in ("ru", "en") else "en"
        template = self._env.get_template(f"{name}.{lang}.j2")
        return template.render(**context).strip()
