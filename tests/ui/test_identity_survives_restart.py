"""Issue 11 item 1, in a real browser: a server restart does not hide the history.

The same browser, after the app was stopped (here: killed, as by a crash) and started again
on the same data folder and port, is the same user: its conversation is on the screen and
its language choice holds. Started with `launch.py`, as a user starts it; the restart comes
right after the kill (issue 10 item 11: no "port busy").
"""

from pathlib import Path

import pytest

from tests.browser import browser_page
from tests.conftest import free_port
from tests.launched import Launched, launch_env

MESSAGE = "Remember me across restarts, please"


@pytest.mark.browser
@pytest.mark.slow
def test_the_same_browser_keeps_its_history_and_language_after_a_restart(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = launch_env(tmp_path / "data", IKAR_LANGUAGE="ru")
    first = Launched(port, env).wait_ready()
    try:
        with browser_page() as page:
            page.goto(first.url + "/")
            page.wait_for_selector("#chat-input textarea", timeout=90_000)
            page.get_by_label("English").check()
            page.get_by_role("button", name="Send").wait_for(timeout=30_000)
            page.fill("#chat-input textarea", MESSAGE)
            page.click("#send")
            page.locator("#chatbot").get_by_text(MESSAGE).wait_for(timeout=60_000)
            # The reply is done: a bot row after the message (the greeting is one before
            # it) and the button says Send again.
            page.wait_for_function(
                """(message) => {
                    const rows = [...document.querySelectorAll('#chatbot .message-row')];
                    const mine = rows.findIndex(r => r.innerText.includes(message));
                    return mine >= 0
                        && rows.slice(mine + 1).some(r => r.classList.contains('bot-row'))
                        && document.querySelector('#send').innerText.trim() === 'Send'
                        && !document.querySelector('#chatbot .pending, #chatbot .generating');
                }""",
                arg=MESSAGE,
                timeout=180_000,
            )
            first.kill()  # a crash: no clean shutdown
            # Leave the dead page first: its reconnect attempts can start a navigation of
            # their own that aborts ours (net::ERR_ABORTED). The origin's storage stays.
            page.goto("about:blank")

            second = Launched(port, env).wait_ready()  # at once, on the same port
            try:
                page.goto(second.url + "/")  # the same origin: the same browser storage
                page.wait_for_selector("#chat-input textarea", timeout=90_000)
                page.locator("#chatbot").get_by_text(MESSAGE).wait_for(timeout=60_000)
                page.get_by_role("button", name="Send").wait_for(timeout=30_000)
                assert page.get_by_label("English").is_checked()
            finally:
                second.stop()
    finally:
        first.stop()
