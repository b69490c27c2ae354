"""Memory messages: (Russian, English) by key. Keys start with "memory."."""

MESSAGES: dict[str, tuple[str, str]] = {}
