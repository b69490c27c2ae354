"""Admin messages: (Russian, English) by key. Keys start with "admin."."""

MESSAGES: dict[str, tuple[str, str]] = {}
