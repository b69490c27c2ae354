"""Issue 11, one language throughout, in a real browser: a first visit speaks the browser's
language; the soul plot's legend (and its lines) follow the UI language; toasts are titled
in it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import browser_page
from tests.conftest import LiveServer


def _legend(page: Any) -> str:
    """What the plot's legend shows (it holds both languages; the style sheet hides one)."""
    page.wait_for_timeout(1500)  # the plot redraws after the load
    return str(page.locator("#soul-history-legend").inner_text())


@pytest.mark.browser
def test_a_first_visit_speaks_the_browsers_language(live_server: LiveServer) -> None:
    """The same server greets an English browser in English and a Russian one in Russian;
    the choice made on the page then holds for that browser."""
    with browser_page(locale="en-US") as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#send:not([disabled])", timeout=60_000)
        assert page.get_by_label("English").is_checked()
        page.get_by_role("button", name="Send").wait_for(timeout=10_000)
        page.get_by_label("Русский").check()
        page.get_by_role("button", name="Отправить").wait_for(timeout=10_000)
        page.reload()
        page.wait_for_selector("#send:not([disabled])", timeout=60_000)
        assert page.get_by_label("Русский").is_checked()
    with browser_page(locale="ru-RU") as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#send:not([disabled])", timeout=60_000)
        assert page.get_by_label("Русский").is_checked()
        page.get_by_role("button", name="Отправить").wait_for(timeout=10_000)


@pytest.mark.browser
def test_the_soul_plot_legend_follows_the_language(live_server: LiveServer) -> None:
    with browser_page() as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#send:not([disabled])", timeout=60_000)
        page.get_by_label("Русский").check()
        page.get_by_role("tab", name="Душа").click()
        page.locator("#soul-history-legend").get_by_text("Радость").wait_for(timeout=30_000)
        page.get_by_label("English").check()
        page.get_by_role("tab", name="Chat").click()
        page.get_by_role("tab", name="Soul").click()
        page.locator("#soul-history-legend").get_by_text("Happiness").wait_for(timeout=30_000)
        legend = _legend(page)
        assert "Happiness" in legend and "Радость" not in legend


@pytest.mark.browser
def test_a_toast_is_titled_in_the_ui_language(live_server: LiveServer) -> None:
    with browser_page() as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#send:not([disabled])", timeout=60_000)
        page.get_by_label("Русский").check()
        page.get_by_role("button", name="Переписать ответ").click()  # nothing to regenerate
        toast = page.locator(".toast-body, [data-testid='toast-body']").first
        toast.wait_for(timeout=30_000)
        title = page.locator(".toast-title.warning").first
        shown = title.evaluate("e => getComputedStyle(e, '::before').content")
        assert shown == '"Внимание"'
        assert title.evaluate("e => getComputedStyle(e).visibility") == "hidden"  # "Warning"
