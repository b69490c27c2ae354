"""The Gradio UI through gradio_client against a live server, and in a real browser."""

import time

import pytest
from gradio_client import Client

from tests.browser import browser_page
from tests.conftest import LiveServer


def test_gradio_client_sends_a_message(live_server: LiveServer) -> None:
    client = Client(live_server.url + "/", verbose=False, download_files=False)
    # the server signs sessions on page load; here the test asks it directly
    session = live_server.services.session_signer.sign(
        {"user_id": "gradio-client-user", "lang": "en"}
    )
    result = client.predict(
        "Hello there!", session, "chatumba", None, False, api_name="/send_message"
    )
    chatbot, textbox, conversations = result[0], result[1], result[2]
    # The box was cleared when the turn started; the final update leaves it alone (the user
    # may be typing the next message by then).
    assert textbox in ("", {"__type__": "update"})
    conv_id = conversations["value"]
    assert [conv_id] == [c[1] for c in conversations["choices"]]
    assert chatbot[0]["role"] == "user"
    assert chatbot[0]["content"][0]["text"] == "Hello there!"
    assert chatbot[-1]["role"] == "assistant" and chatbot[-1]["content"][0]["text"].strip()
    stored = live_server.services.chat.messages.list("gradio-client-user", conv_id)
    assert [m.role for m in stored] == ["user", "assistant"]


def test_gradio_api_refuses_a_forged_session(live_server: LiveServer) -> None:
    client = Client(live_server.url + "/", verbose=False, download_files=False)
    forged = {"user_id": "someone-else", "lang": "en", "sig": "0" * 64}
    with pytest.raises(Exception, match=r"(?i)session|error"):
        client.predict("Hi", forged, "chatumba", None, False, api_name="/send_message")
    assert live_server.services.chat.conversations.list("someone-else") == []


@pytest.mark.browser
def test_browser_chat_streams_reply_and_survives_reload(live_server: LiveServer) -> None:

    with browser_page() as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        page.fill("#chat-input textarea", "Hello, tell me about yourself")
        page.click("#send")
        bot = page.locator("#chatbot .message-row.bot-row, #chatbot [data-testid='bot']")
        bot.first.wait_for(timeout=60_000)
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = bot.last.inner_text().strip()
            if text and text != "…":
                break
            time.sleep(0.3)
        assert text and text != "…"
        page.wait_for_function(
            "() => !document.querySelector('#chatbot .pending, #chatbot .generating')",
            timeout=60_000,
        )
        # history is restored after a reload (same browser storage)
        page.reload()
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        page.locator("#chatbot").get_by_text("Hello, tell me about yourself").wait_for(
            timeout=30_000
        )
        # the language switch relabels the UI
        page.get_by_label("English").check()
        page.get_by_role("button", name="Send").wait_for(timeout=10_000)
        page.get_by_label("Русский").check()
        page.get_by_role("button", name="Отправить").wait_for(timeout=10_000)
