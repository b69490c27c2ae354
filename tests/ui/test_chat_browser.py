"""Issue 11 items 2 and 3 in a real browser: Enter sends, Shift+Enter breaks the line, and a
message sent while a reply is being written is queued (kept in the box, said so) and sent
after the reply, never dropped.

The reply is streamed slowly by the scripted backend, so the second message surely arrives
mid-reply; the real model's streaming is covered by tests/app/test_gradio_ui.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.composition import Services, build_services
from models.errors import LLMTimeoutError
from tests.app.fakes import ScriptedBackend, use_scripted
from tests.browser import browser_page
from tests.conftest import LiveServer

WORDS = [f" word{i}" for i in range(20)]


def slow_replies(services: Services, delay_s: float) -> ScriptedBackend:
    backend = ScriptedBackend(words=WORDS, delay_s=delay_s)
    use_scripted(services, backend)
    return backend


@pytest.fixture
def slow_server(make_settings: Any) -> Iterator[LiveServer]:
    settings = make_settings()
    services = build_services(settings)
    backend = slow_replies(services, delay_s=0.25)  # 5 s a reply
    with LiveServer(settings, services) as server:
        server.backend = backend  # type: ignore[attr-defined]
        yield server
    services.close()


def _rows(server: LiveServer) -> list[tuple[str, str]]:
    chat = server.services.chat
    out: list[tuple[str, str]] = []
    for user in server.services.users.list():
        for conv in chat.conversations.list(user.id):
            messages = chat.messages.list(user.id, conv.id)
            out += [(m.role, m.content) for m in messages if not m.meta.get("greeting")]
    return out


def _ready(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    page.wait_for_selector("#send:not([disabled])", timeout=60_000)
    page.get_by_label("English").check()
    page.get_by_role("button", name="Send").wait_for(timeout=10_000)


@pytest.mark.browser
def test_enter_sends_and_shift_enter_breaks_the_line(slow_server: LiveServer) -> None:
    with browser_page() as page:
        _ready(page, slow_server.url)
        box = page.locator("#chat-input textarea")
        box.click()
        page.keyboard.type("line one")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("line two")
        assert box.input_value() == "line one\nline two"
        page.wait_for_timeout(1000)
        assert _rows(slow_server) == []  # Shift+Enter sent nothing
        page.keyboard.press("Enter")
        page.locator("#chatbot").get_by_text("line two").wait_for(timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('#chat-input textarea').value === ''", timeout=10_000
        )
        page.locator("#chatbot").get_by_text("word19").wait_for(timeout=60_000)
        assert _rows(slow_server)[0] == ("user", "line one\nline two")
        # Faces beside the messages (the user's, the persona's), served and drawn.
        faces = page.locator("#chatbot img.avatar-image")
        drawn = faces.evaluate_all("els => els.map(e => e.complete && e.naturalWidth > 0)")
        sources = set(faces.evaluate_all("els => els.map(e => e.src)"))
        assert len(drawn) >= 2 and all(drawn) and len(sources) == 2


@pytest.mark.browser
def test_a_message_sent_during_a_reply_is_queued_and_sent_after_it(
    slow_server: LiveServer,
) -> None:
    with browser_page() as page:
        _ready(page, slow_server.url)
        box = page.locator("#chat-input textarea")
        box.fill("first message")
        page.click("#send")
        page.locator("#chatbot").get_by_text("word1", exact=False).first.wait_for(timeout=30_000)
        # Mid-reply: Send says "Queue", the box is free to type the next message.
        assert page.locator("#send").inner_text().strip() == "Queue"
        box.fill("second message")
        box.press("Enter")
        note = page.locator("#queued-note")
        note.get_by_text("queued").wait_for(timeout=10_000)
        assert box.input_value() == "second message"  # kept, visibly waiting
        assert box.is_disabled()
        # After the first reply, the queued message is sent and answered.
        page.locator("#chatbot").get_by_text("second message").wait_for(timeout=60_000)
        page.wait_for_function(
            "() => document.querySelector('#chat-input textarea').value === ''"
            " && !document.querySelector('#chat-input textarea').disabled",
            timeout=30_000,
        )
        page.wait_for_function(
            "() => document.querySelector('#send').innerText.trim() === 'Send'", timeout=60_000
        )
        rows = _rows(slow_server)
        assert [r for r, _ in rows] == ["user", "assistant", "user", "assistant"]
        assert rows[0][1] == "first message" and rows[2][1] == "second message"
        assert "word19" in rows[1][1] and "word19" in rows[3][1]
        assert "queued" not in note.inner_text()


@pytest.mark.browser
def test_a_reply_cut_short_stays_on_screen_marked_and_turns_never_merge(
    slow_server: LiveServer,
) -> None:
    backend: ScriptedBackend = slow_server.backend  # type: ignore[attr-defined]
    backend.words, backend.delay_s = [" Once", " upon", " a", " time"], 0.1
    backend.error = LLMTimeoutError("the model fell silent")
    with browser_page() as page:
        _ready(page, slow_server.url)
        box = page.locator("#chat-input textarea")
        box.fill("Tell me a long story")
        page.click("#send")
        chat = page.locator("#chatbot")
        chat.get_by_text("Once upon a time").wait_for(timeout=30_000)
        chat.get_by_text("(reply cut short)").wait_for(timeout=30_000)
        # A turn with no reply at all, then another message: two turns, not one bubble.
        backend.words = []
        box.fill("Are you there?")
        page.click("#send")
        page.get_by_text("did not answer", exact=False).first.wait_for(timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('#send').innerText.trim() === 'Send'", timeout=30_000
        )
        backend.words, backend.error = [" Yes,", " here."], None
        box.fill("Hello again")
        page.click("#send")
        chat.get_by_text("Yes, here.").wait_for(timeout=30_000)
        page.reload()  # as stored
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        chat.get_by_text("Hello again").wait_for(timeout=30_000)
        chat.get_by_text("(reply cut short)").wait_for(timeout=10_000)
        chat.get_by_text("no reply", exact=False).wait_for(timeout=10_000)
        users = chat.locator(".message-row.user-row")
        assert users.count() == 3  # each message its own turn
    assert [r for r, _ in _rows(slow_server)] == ["user", "assistant", "user", "user", "assistant"]


@pytest.mark.browser
@pytest.mark.parametrize("name", ["holiday.png", "notes.txt"])
def test_a_file_that_is_not_an_image_gets_one_clear_message(
    slow_server: LiveServer, tmp_path: Path, name: str
) -> None:
    fake = tmp_path / name
    fake.write_text("this is plain text, not a picture\n" * 20)
    with browser_page() as page:
        _ready(page, slow_server.url)
        page.click("#media-tools button")  # unfold the media tools
        page.set_input_files("#chat-attach input[type=file]", str(fake))
        page.get_by_text("This is not an image", exact=False).first.wait_for(timeout=30_000)
        # The message is typed and sent with no image: no red "Error" badge anywhere.
        page.fill("#chat-input textarea", "What does it say?")
        page.click("#send")
        page.locator("#chatbot").get_by_text("word19").wait_for(timeout=60_000)
        badges = page.locator(".error:visible, [data-testid='status-tracker'] .error:visible")
        assert badges.count() == 0
        assert page.get_by_text("Error", exact=True).count() == 0
    assert _rows(slow_server)[0] == ("user", "What does it say?")


@pytest.mark.browser
def test_a_media_request_that_cannot_be_made_keeps_the_text_and_speech_waits_for_a_click(
    slow_server: LiveServer,
) -> None:
    """The model asks for a picture with no image model set up, then speaks with spoken
    replies off: the text is on screen, the picture is explained (how to turn drawing on),
    and nothing plays by itself."""
    backend: ScriptedBackend = slow_server.backend  # type: ignore[attr-defined]
    backend.words, backend.delay_s = ['IMAGE!{"prompt": "a lighthouse at dusk"}'], 0.0
    with browser_page() as page:
        _ready(page, slow_server.url)
        chat = page.locator("#chatbot")
        page.fill("#chat-input textarea", "Draw me something")
        page.click("#send")
        chat.get_by_text("a lighthouse at dusk").wait_for(timeout=30_000)
        chat.get_by_text("Media could not be made").click()  # unfold the explanation
        chat.get_by_text("Drawing is not set up", exact=False).wait_for(timeout=10_000)
        backend.words = ['SPEAK!{"text": "Hello from the lighthouse."}']
        page.fill("#chat-input textarea", "Say hello")
        page.click("#send")
        chat.get_by_text("Hello from the lighthouse.").wait_for(timeout=60_000)
        page.wait_for_function(
            "() => document.querySelector('#send').innerText.trim() === 'Send'", timeout=120_000
        )
        chat.locator("audio").first.wait_for(state="attached", timeout=30_000)  # click to hear
        assert page.locator("#voice-out audio").count() == 0  # nothing autoplays
    assert not [r for r, text in _rows(slow_server) if r == "assistant" and not text.strip()]


@pytest.mark.browser
def test_the_personas_greeting_opens_a_new_conversation(slow_server: LiveServer) -> None:
    """SillyTavern's `first_mes` (or an alternate greeting) greets an empty chat, another
    persona greets with its own, and the greeting the user answered is stored first."""
    soul = slow_server.services.soul
    chatumba = soul.get_persona("chatumba").card.data
    wren = soul.get_persona("wren").card.data
    with browser_page() as page:
        _ready(page, slow_server.url)
        chat = page.locator("#chatbot")
        first = chat.locator(".message-row.bot-row").first
        first.wait_for(timeout=30_000)
        options = [chatumba.first_mes, *chatumba.alternate_greetings]
        assert any(g.split(".")[0] in first.inner_text() for g in options)
        page.locator("#persona-select input").click()
        page.get_by_role("option", name="Wren").click()
        wren_options = [wren.first_mes, *wren.alternate_greetings]
        page.wait_for_function(
            "([sel, starts]) => starts.some(s => document.querySelector(sel)?.innerText"
            ".includes(s))",
            arg=["#chatbot .message-row.bot-row", [g[:20] for g in wren_options]],
            timeout=30_000,
        )
        page.locator("#app-title").get_by_text("IKAR — Wren").wait_for(timeout=10_000)
        page.fill("#chat-input textarea", "Hi Wren!")
        page.click("#send")
        chat.get_by_text("word19").wait_for(timeout=60_000)
        page.wait_for_function(
            "() => document.querySelector('#send').innerText.trim() === 'Send'", timeout=60_000
        )
        # A persona switch mid-chat shows in the chat, where it happened.
        page.locator("#persona-select input").click()
        page.get_by_role("option", name="Wren").wait_for()
        page.get_by_role("option").filter(has_text="Чатумба").click()
        page.locator("#app-title").get_by_text("IKAR — Чатумба").wait_for(timeout=10_000)
        page.fill("#chat-input textarea", "And now?")
        page.click("#send")
        chat.get_by_text("Чатумба takes over the conversation", exact=False).wait_for(
            timeout=30_000
        )
    user = slow_server.services.users.list()[0]
    conv = slow_server.services.chat.conversations.list(user.id)[0]
    stored = slow_server.services.chat.messages.list(user.id, conv.id)
    assert [m.role for m in stored][:3] == ["assistant", "user", "assistant"]
    assert stored[0].meta["greeting"] and stored[0].content in wren_options


@pytest.mark.browser
def test_waiting_for_the_first_word_says_what_happens_and_for_how_long(
    slow_server: LiveServer,
) -> None:
    backend: ScriptedBackend = slow_server.backend  # type: ignore[attr-defined]
    backend.words, backend.delay_s = [" Slow", " start."], 2.5
    with browser_page() as page:
        _ready(page, slow_server.url)
        page.fill("#chat-input textarea", "Take your time")
        page.click("#send")
        chat = page.locator("#chatbot")
        chat.get_by_text("writing… 2 s", exact=False).wait_for(timeout=30_000)
        chat.get_by_text("Slow start.").wait_for(timeout=30_000)
        assert chat.get_by_text("writing…", exact=False).count() == 0


@pytest.mark.browser
def test_deleting_a_conversation_asks_first(slow_server: LiveServer) -> None:
    backend: ScriptedBackend = slow_server.backend  # type: ignore[attr-defined]
    backend.words, backend.delay_s = [" Noted."], 0.0
    with browser_page() as page:
        _ready(page, slow_server.url)
        page.fill("#chat-input textarea", "Keep this")
        page.click("#send")
        page.locator("#chatbot").get_by_text("Noted.").wait_for(timeout=30_000)
        page.click("#delete-conversation")
        page.get_by_role("button", name="Delete for good?").wait_for(timeout=10_000)
        page.wait_for_timeout(500)
        assert _rows(slow_server) == [("user", "Keep this"), ("assistant", "Noted.")]
        page.click("#delete-conversation")
        page.get_by_role("button", name="Delete", exact=True).wait_for(timeout=10_000)
        page.locator("#chatbot").get_by_text("Keep this").wait_for(state="detached")
    assert _rows(slow_server) == []


@pytest.mark.browser
def test_a_page_reloaded_mid_reply_shows_it_so_far_and_then_whole(
    slow_server: LiveServer,
) -> None:
    backend: ScriptedBackend = slow_server.backend  # type: ignore[attr-defined]
    backend.delay_s = 0.5  # 10 s a reply
    with browser_page() as page:
        _ready(page, slow_server.url)
        page.fill("#chat-input textarea", "Tell me twenty words")
        page.click("#send")
        chat = page.locator("#chatbot")
        chat.get_by_text("word3", exact=False).first.wait_for(timeout=30_000)
        page.reload()
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        # The reply so far, marked as still being written, not "no reply" nor nothing.
        chat.get_by_text("Tell me twenty words").wait_for(timeout=30_000)
        chat.get_by_text("still writing", exact=False).wait_for(timeout=10_000)
        assert "word3" in chat.inner_text()
        assert "no reply" not in chat.inner_text()
        # Another tab of the same browser (its stored identity) sees it too.
        browser = page.context.browser
        other = browser.new_context(storage_state=page.context.storage_state()).new_page()
        other.goto(slow_server.url + "/")
        other.locator("#chatbot").get_by_text("word3", exact=False).first.wait_for(timeout=30_000)
        # The whole reply replaces it when done (the poll picks it up), unmarked.
        chat.get_by_text("word19", exact=False).wait_for(timeout=60_000)
        page.wait_for_function(
            "() => !document.querySelector('#chatbot').innerText.includes('writing')",
            timeout=15_000,
        )
    rows = _rows(slow_server)
    assert [r for r, _ in rows] == ["user", "assistant"]
    assert "word0" in rows[1][1] and "word19" in rows[1][1]


@pytest.mark.browser
def test_on_a_phone_the_chat_comes_first_and_its_controls_are_folded(
    slow_server: LiveServer,
) -> None:
    with browser_page({"width": 390, "height": 844}) as page:
        _ready(page, slow_server.url)
        persona = page.locator("#persona-select")
        page.wait_for_function(
            "() => !document.querySelector('#chat-controls > .label-wrap.open')", timeout=10_000
        )
        assert not persona.is_visible()  # folded
        chat_box = page.locator("#chatbot").bounding_box()
        controls = page.locator("#chat-controls").bounding_box()
        assert chat_box and controls and controls["y"] > chat_box["y"] + chat_box["height"]
        page.locator("#chat-controls > .label-wrap").click()  # one tap unfolds them
        persona.wait_for(state="visible", timeout=10_000)
    with browser_page() as page:  # a desktop: open beside the chat
        _ready(page, slow_server.url)
        page.wait_for_timeout(1000)
        assert page.locator("#persona-select").is_visible()
