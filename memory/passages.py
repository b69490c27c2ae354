"""The text a memory's vector is made from, and the key that names that recipe.

Why a separate recipe from the stored text: the row keeps exactly what was said (shown in the
Memory tab, exported, edited), while the vector needs more to be findable: who said it
("Nadia: I adopted a puppy called Rex" answers "what is Nadia's dog called?"), and
optionally the turn before it (a bare "Yes, in March!" means nothing alone).

Every stored vector records `vector_key(...)` in `memories.embedding_model`. Changing the
recipe (or the embedder) changes the key, so rows made the old way show up as pending and
are re-embedded in the background (the `reembed` progress in `status()`), resumably.
"""

from __future__ import annotations

from collections.abc import Sequence

# Bump when `passage_text` changes what it produces.
PASSAGE_FORMAT = "a1"


def vector_key(embedder_name: str, context_turns: int = 0) -> str:
    """What `memories.embedding_model` holds for vectors made by this recipe."""
    suffix = f"c{context_turns}" if context_turns else ""
    return f"{embedder_name}/{PASSAGE_FORMAT}{suffix}"


def attributed(author: str | None, text: str) -> str:
    """`Author: text`, or the text alone when the author is unknown."""
    name = " ".join((author or "").split())
    return f"{name}: {text}" if name else text


def passage_text(
    author: str | None, text: str, context: Sequence[tuple[str | None, str]] = ()
) -> str:
    """What is embedded: earlier turns (oldest first) as context, then the turn itself."""
    lines = [attributed(a, t) for a, t in context]
    lines.append(attributed(author, text))
    return "\n".join(lines)
