"""What every tab of the UI provides, so `blocks.py` can lay them out and load them alike."""

from __future__ import annotations

from typing import Any, Protocol


class UiTab(Protocol):
    """A tab: `build()` inside its `gr.Tab`, then `on_load` fills `load_outputs()` when a
    browser opens the page (`session` holds `user_id`, `lang`, `conversation_id`)."""

    title_key: str
    tab_id: str

    def build(self) -> None: ...

    def load_outputs(self) -> list[Any]: ...

    async def on_load(self, session: dict[str, Any]) -> list[Any]: ...
