"""The prompt assembler used when no persona system is wired: a system text plus history.

Kept small on purpose; the soul's prompt builder replaces it in the composition root.
"""

from __future__ import annotations

from collections.abc import Callable

from app.services.turns import TurnContext
from models.types import ChatMessage


class BasicPromptAssembler:
    def __init__(self, system_prompt: str) -> None:
        self.system_prompt = system_prompt

    def assemble(
        self, ctx: TurnContext, count_tokens: Callable[[str], int], budget_tokens: int
    ) -> list[ChatMessage]:
        system = ChatMessage(role="system", content=self.system_prompt)
        latest = ChatMessage(role="user", content=ctx.user_message.content)
        used = count_tokens(system.content) + count_tokens(latest.content) + 16
        kept: list[ChatMessage] = []
        for msg in reversed(ctx.history):  # newest first; drop the oldest when over budget
            if msg.role == "system":
                continue
            cost = count_tokens(msg.content) + 8
            if used + cost > budget_tokens:
                break
            kept.append(ChatMessage(role=msg.role, content=msg.content))
            used += cost
        return [system, *reversed(kept), latest]
