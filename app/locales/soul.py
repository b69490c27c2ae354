"""Soul messages: (Russian, English) by key. Keys start with "soul."."""

MESSAGES: dict[str, tuple[str, str]] = {}
