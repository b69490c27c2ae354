"""A real browser for UI tests: Debian's chromium driven by playwright (never a downloaded one)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags chromium keeps dialling out of this closed network.
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def browser_page(viewport: dict[str, int] | None = None, locale: str = "ru-RU") -> Iterator[Any]:
    """A fresh headless page; the browser closes when the block ends, even on failure.

    A Russian browser by default: a first visit shows the browser's language, and the tests
    were written against the Russian first screen."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            options: dict[str, Any] = {"locale": locale}
            if viewport:
                options["viewport"] = viewport
            yield browser.new_page(**options)
        finally:
            browser.close()
