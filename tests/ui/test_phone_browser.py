"""Issue 11, phone width (390 px) in a real browser: tables keep their words whole and
scroll sideways; the soul plot's legend wraps inside the screen."""

from __future__ import annotations

import pytest

from tests.browser import browser_page
from tests.conftest import LiveServer

PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
def test_on_a_phone_tables_scroll_sideways_instead_of_breaking_words(
    live_server: LiveServer,
) -> None:
    with browser_page(PHONE) as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#send:not([disabled])", timeout=60_000)
        page.get_by_label("English").check()
        page.get_by_role("tab", name="Memory").click()
        page.wait_for_timeout(1500)
        widths = page.locator(".table-wrap th").evaluate_all(
            "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().width)"
        )
        assert widths and min(widths) >= 40, widths  # was ~18 px: one letter a line
        scrolls = page.locator(".table-container").evaluate_all(
            "els => els.filter(e => e.offsetParent).map(e => e.scrollWidth > e.clientWidth)"
        )
        assert scrolls and all(scrolls)


@pytest.mark.browser
def test_on_a_phone_the_soul_legend_stays_on_the_screen(live_server: LiveServer) -> None:
    with browser_page(PHONE) as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#send:not([disabled])", timeout=60_000)
        page.get_by_label("English").check()
        page.get_by_role("tab", name="Soul").click()
        legend = page.locator("#soul-history-legend")
        legend.get_by_text("Consciousness").wait_for(timeout=30_000)
        rights = legend.locator(".legend-item").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        )
        assert len(rights) == 6 and max(rights) <= PHONE["width"]
