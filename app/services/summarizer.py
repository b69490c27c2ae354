"""The model call memory consolidation uses to turn a window of old turns into one summary.

The instruction is a prompt file (`config/prompts/memory/summarize.txt`, bilingual: the
model answers in the conversation's language), so it is edited like the other prompts.
"""

from __future__ import annotations

from pathlib import Path

from app.services.models import ModelManager
from config.settings import CONFIG_DIR
from models.types import ChatMessage, SamplingParams

SUMMARY_PROMPT = Path("memory") / "summarize.txt"
MAX_INPUT_CHARS = 6000


class Summarizer:
    """`summarize(lines) -> text` over the active model; memory calls it from its own thread."""

    def __init__(self, models: ModelManager, prompts_dir: Path) -> None:
        self.models = models
        path = prompts_dir / SUMMARY_PROMPT
        if not path.is_file():  # a custom prompts folder without it: use the shipped one
            path = CONFIG_DIR / "prompts" / SUMMARY_PROMPT
        self.instruction = path.read_text(encoding="utf-8").strip()

    def __call__(self, lines: list[str]) -> str:
        prompt = [
            ChatMessage(role="system", content=self.instruction),
            ChatMessage(role="user", content="\n".join(lines)[:MAX_INPUT_CHARS]),
        ]
        # Background work: nothing of this prompt is kept as a saved KV state.
        params = SamplingParams(max_tokens=200, temperature=0.2, keep_state=False)
        chunks = self.models.backend().stream(prompt, params)
        return "".join(c.text for c in chunks).strip()
