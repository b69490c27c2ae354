"""Plain data that crosses the inference boundary.

Everything above `models/` talks to a model only through these types, so a llama.cpp
backend and an OpenAI-compatible server are interchangeable.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["system", "user", "assistant"]
# "prefix": this message ends the stable prefix (persona card + example dialogue) that many
#   conversations share; a local backend keeps a saved KV state of everything up to here.
# "volatile": this message belongs to this turn's prompt only (the soul's state note); a local
#   backend cuts it out of its KV cache after the reply, since the next prompt will not hold it.
CacheHint = Literal["prefix", "volatile"]


class ChatMessage(BaseModel):
    """One message in the model's real chat roles (never a flattened prompt string)."""

    role: Role
    content: str
    cache: CacheHint | None = None

    def wire(self) -> dict[str, str]:
        """The message as chat APIs take it (the cache hint is ours, not the model's)."""
        return {"role": self.role, "content": self.content}


class SamplingParams(BaseModel):
    """Sampling knobs; `None` means "use the model profile's default"."""

    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=5.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    repeat_penalty: float | None = Field(default=None, gt=0.0)
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    # False for background work (inner-life thoughts): a backend that saves KV states keeps
    # the conversation that was in the context, but saves nothing of this prompt, so a
    # thought never takes the place of a live conversation's state.
    keep_state: bool = True
    # Constrain the reply to JSON matching this schema (llama.cpp: a grammar made from it;
    # an OpenAI-compatible server: response_format json_schema). None: free text.
    json_schema: dict[str, Any] | None = None


class Usage(BaseModel):
    """What one generation cost, measured by the backend."""

    prompt_tokens: int = 0
    # Prompt tokens whose KV came from a cache (live context, saved state or the server's).
    cached_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float | None = None
    total_s: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        gen_s = self.total_s - (self.time_to_first_token_s or 0.0)
        return self.completion_tokens / gen_s if gen_s > 0 else 0.0


class StreamChunk(BaseModel):
    """A piece of a streamed reply; the last chunk has `done=True` and carries `usage`."""

    text: str = ""
    done: bool = False
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
