"""Media messages: (Russian, English) by key. Keys start with "media."."""

MESSAGES: dict[str, tuple[str, str]] = {}
