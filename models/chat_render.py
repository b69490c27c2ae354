"""Chat messages to prompt tokens, with the token positions of the cache hints.

The backend renders the prompt itself (with the chat template stored in the GGUF, exactly as
llama-cpp-python's own handler does) instead of calling `create_chat_completion`, because
the state cache must know the prompt's tokens before anything is evaluated: which saved
state shares the longest prefix with them, where the stable persona prefix ends, and which
tokens belong to the turn-only note that is cut out after the reply.

A hint's position is the token length of the messages before it rendered on their own. That
is only valid where those tokens are a prefix of the whole prompt's tokens (true for
templates that mark each message with special tokens, like ChatML); where it is not, the
hint is ignored, which costs speed, never correctness.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from models.types import ChatMessage

_PREFIX_CACHE = 16


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt ready for `create_completion(prompt=tokens)`."""

    tokens: list[int]
    stop: list[str]
    prefix_end: int | None = None  # tokens[:prefix_end] is the stable prefix
    volatile: list[tuple[int, int]] = field(default_factory=list)  # [start, end) spans


class ChatRenderer:
    """Renders with the GGUF's own chat template; `None` from `for_model` if it has none."""

    def __init__(self, llm: Any, template: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llm = llm
        eos_id, bos_id = llm.token_eos(), llm.token_bos()
        eos = _token_text(llm, eos_id)
        bos = _token_text(llm, bos_id)
        # Typed loosely: llama-cpp-python types messages as TypedDicts, ours are plain dicts.
        self._full: Any = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
        self._head: Any = Jinja2ChatFormatter(
            template, eos_token=eos, bos_token=bos, add_generation_prompt=False
        )
        self._eos = eos
        # The stable prefix is rendered again every turn: keep its tokens by text.
        self._heads: OrderedDict[str, list[int]] = OrderedDict()

    @classmethod
    def for_model(cls, llm: Any, chat_format: str | None) -> ChatRenderer | None:
        """A renderer where the model's prompt comes from the GGUF template."""
        template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
        if chat_format is not None or not template:
            return None
        return cls(llm, template)

    def render(self, messages: list[ChatMessage], stop: list[str] | None = None) -> RenderedPrompt:
        wire = [m.wire() for m in messages]
        result = self._full(messages=wire)
        text = result.prompt
        tokens = self._tokenize(text)
        stops = list(stop or [])
        extra = result.stop if isinstance(result.stop, list) else [result.stop]
        stops += [s for s in extra if s and s not in stops]
        prefix_end: int | None = None
        volatile: list[tuple[int, int]] = []
        for i, message in enumerate(messages):
            if message.cache == "prefix":  # the last one that lines up wins
                prefix_end = self._head_end(wire[: i + 1], text, tokens) or prefix_end
            elif message.cache == "volatile" and i > 0:
                start = self._tail_start(wire[:i], text, tokens)
                end = self._tail_start(wire[: i + 1], text, tokens)
                if start is not None and end is not None and end > start:
                    volatile.append((start, end))
        return RenderedPrompt(tokens=tokens, stop=stops, prefix_end=prefix_end, volatile=volatile)

    def render_head(self, messages: list[ChatMessage]) -> list[int]:
        """Tokens of `messages` as the start of a longer prompt (no assistant header)."""
        return list(self._head_tokens(self._head(messages=[m.wire() for m in messages]).prompt))

    def _head_end(self, head: list[dict[str, str]], text: str, tokens: list[int]) -> int | None:
        """Where the tokens of `head` end in the prompt (the stable prefix: cached by text)."""
        head_text = self._head(messages=head).prompt
        if not text.startswith(head_text):
            return None
        head_tokens = self._head_tokens(head_text)
        n = len(head_tokens)
        return n if tokens[:n] == head_tokens else None

    def _tail_start(self, head: list[dict[str, str]], text: str, tokens: list[int]) -> int | None:
        """Where the text after `head` starts in the prompt's tokens.

        Tokenizes only the (short) rest of the prompt, not the whole history again.
        """
        head_text = self._head(messages=head).prompt
        if not text.startswith(head_text):
            return None
        tail = self._tokenize(text[len(head_text) :])
        start = len(tokens) - len(tail)
        return start if start >= 0 and tokens[start:] == tail else None

    def _head_tokens(self, head_text: str) -> list[int]:
        cached = self._heads.get(head_text)
        if cached is None:
            cached = self._tokenize(head_text)
            self._heads[head_text] = cached
            if len(self._heads) > _PREFIX_CACHE:
                self._heads.popitem(last=False)
        else:
            self._heads.move_to_end(head_text)
        return cached

    def tokenize(self, text: str) -> list[int]:
        """Tokens of plain text inside a prompt (special tokens as the template writes them)."""
        return self._tokenize(text)

    def _tokenize(self, text: str) -> list[int]:
        # As llama-cpp-python's chat handler: the template adds special tokens itself.
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def _token_text(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return bytes(llm.detokenize([token], special=True)).decode("utf-8", errors="ignore")
