"""The admin tab in a real browser: closed without a token, working with one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.conftest import TOKEN
from tests.browser import browser_page
from tests.conftest import LiveServer


def _open_admin_tab(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    page.get_by_role("tab", name="Админ").click()


@pytest.mark.browser
def test_admin_tab_without_token_explains_how_to_enable(make_settings: Any) -> None:

    with LiveServer(make_settings()) as server, browser_page() as page:
        _open_admin_tab(page, server.url)
        notice = page.locator("#admin-notice")
        notice.get_by_text("IKAR_ADMIN_TOKEN").first.wait_for(timeout=30_000)
        assert "отключена" in notice.inner_text()
        assert (
            page.locator("#admin-token").count() == 0
            or not page.locator("#admin-token").is_visible()
        )
        page.get_by_label("English").check()
        page.get_by_role("tab", name="Admin").wait_for(timeout=10_000)
        page.locator("#admin-notice").get_by_text("Admin is disabled").wait_for(timeout=10_000)


@pytest.mark.browser
def test_admin_tab_with_token_shows_the_users(make_settings: Any, prompts_dir: Any) -> None:
    from playwright.sync_api import expect

    settings = make_settings(admin_token=TOKEN, prompts_dir=prompts_dir)
    with LiveServer(settings) as server, browser_page() as page:
        server.services.users.get_or_create("browser-alice", "Browser Alice")
        _open_admin_tab(page, server.url)
        page.locator("#admin-notice").get_by_text("IKAR_ADMIN_TOKEN").wait_for(timeout=30_000)
        token_box = page.locator("#admin-token input")
        # a wrong token is refused with a clear message, and shows no users
        token_box.fill(TOKEN[:-1])
        page.click("#admin-open")
        page.locator("#admin-status").get_by_text("Неверный").wait_for(timeout=30_000)
        assert "Browser Alice" not in page.locator("#admin-users").inner_text()
        # the right token opens it
        token_box.fill(TOKEN)
        page.click("#admin-open")
        page.locator("#admin-status").get_by_text("Токен принят").wait_for(timeout=30_000)
        expect(page.locator("#admin-users")).to_contain_text("Browser Alice", timeout=30_000)
        assert "browser-alice" in page.locator("#admin-users").inner_text()
        page.screenshot(path=str(settings.data_dir / "admin-tab.png"), full_page=True)
