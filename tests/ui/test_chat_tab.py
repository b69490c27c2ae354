"""Chat tab callbacks against real `Services` (the streaming path is covered in a browser)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
import pytest

from app.composition import Services, build_services
from app.ui.chat_tab import ChatTab
from app.ui.labels import Labels


def test_poll_shows_messages_that_arrive_unprompted(services: Services) -> None:
    with gr.Blocks():
        tab = ChatTab(services, Labels(), gr.BrowserState(None))
        tab.build()
    session = services.session_signer.sign({"user_id": "poller", "lang": "en"})
    services.users.get_or_create("poller")
    conv = services.chat.conversations.create("poller", "t", "chatumba")
    services.chat.messages.add(conv.id, "poller", "user", "poller", "hi")
    shown = 1
    chatbot, count = asyncio.run(tab.on_poll(session, conv.id, shown))
    assert chatbot == gr.skip() and count == gr.skip()  # nothing new: nothing re-rendered
    services.chat.messages.add(
        conv.id, "poller", "assistant", "chatumba", "I missed you", meta={"unprompted": True}
    )
    chatbot, count = asyncio.run(tab.on_poll(session, conv.id, shown))
    assert count == 2
    assert "I missed you" in chatbot[-1]["content"]
    assert "unprompted" in chatbot[-1]["content"]  # marked as written first
    # another user's conversation id shows nothing
    other = services.session_signer.sign({"user_id": "intruder", "lang": "en"})
    chatbot, _ = asyncio.run(tab.on_poll(other, conv.id, 0))
    assert chatbot == gr.skip()


def _scripted(services: Services, words: list[str]) -> None:
    from tests.app.fakes import ScriptedBackend, use_scripted

    use_scripted(services, ScriptedBackend(words=words))


async def _all(updates: AsyncIterator[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [u async for u in updates]


def test_the_chat_rate_limit_applies_to_the_ui_too(make_settings: Any) -> None:
    """The limit lives in the chat service, so the tab cannot bypass it (as the REST API
    cannot): the second message in a minute is refused, nothing stored, the text kept."""
    services = build_services(make_settings(chat_rate_per_min=1))
    _scripted(services, ["Hello", " there"])
    with gr.Blocks():
        tab = ChatTab(services, Labels(), gr.BrowserState(None))
        tab.build()
    session = services.session_signer.sign({"user_id": "ui-user", "lang": "en"})
    first = asyncio.run(_all(tab.on_send("one", session, None, "chatumba", None, False)))
    conv_id = first[-1][2]
    assert conv_id and "Hello there" in str(first[-1][0])
    assert first[-1][8]["value"] == "Send"  # it read "Queue" during the reply
    with pytest.warns(UserWarning, match="Too many requests"):
        second = asyncio.run(_all(tab.on_send("two", session, conv_id, "chatumba", None, False)))
    assert second[-2][1]["value"] == "two"  # the typed text is given back
    assert [m.content for m in services.chat.messages.list("ui-user", conv_id)] == [
        "one",
        "Hello there",
    ]
    services.close()


def test_the_media_rate_limit_applies_to_the_ui_too(make_settings: Any) -> None:
    services = build_services(make_settings(heavy_rate_per_min=1))
    with gr.Blocks():
        tab = ChatTab(services, Labels(), gr.BrowserState(None))
        tab.build()
    session = services.session_signer.sign({"user_id": "ui-user", "lang": "en"})
    path = asyncio.run(tab.media.speak("Hello from the tab.", None, session))
    assert path is not None and path.endswith(".wav")
    key = path.rsplit("/", 1)[-1].split(".")[0]
    assert asyncio.run(services.media.owns_artifact("ui-user", key))  # made for this user
    with pytest.warns(UserWarning, match="Too many requests"):
        assert asyncio.run(tab.media.speak("Again, please.", None, session)) is None
    services.close()


def test_a_browser_that_never_stored_its_conversation_reopens_the_latest(
    services: Services,
) -> None:
    """The tab stores the open conversation's id a moment after the turn starts; an app
    stopped before that must not hide the conversation on the next load. After "New" the
    stored id is None and the empty chat stays empty."""
    with gr.Blocks():
        tab = ChatTab(services, Labels(), gr.BrowserState(None))
        tab.build()
    services.users.get_or_create("returning")
    older = services.chat.conversations.create("returning", "older", "chatumba")
    services.chat.messages.add(older.id, "returning", "user", "returning", "first words")
    latest = services.chat.conversations.create("returning", "latest", "chatumba")
    services.chat.messages.add(latest.id, "returning", "user", "returning", "last words")
    never_stored = services.session_signer.sign({"user_id": "returning", "lang": "en"})
    history, conv_id, *_ = asyncio.run(tab.on_load(never_stored))
    assert conv_id == latest.id
    assert "last words" in str(history)
    after_new = services.session_signer.sign(
        {"user_id": "returning", "lang": "en", "conversation_id": None}
    )
    history, conv_id, *_ = asyncio.run(tab.on_load(after_new))
    assert conv_id is None and "last words" not in str(history)
    # Someone without conversations gets the greeting, as before.
    newcomer = services.session_signer.sign({"user_id": "newcomer", "lang": "en"})
    _, conv_id, *_ = asyncio.run(tab.on_load(newcomer))
    assert conv_id is None


def test_the_chat_shows_the_personas_face_and_name_and_the_users_face(
    services: Services,
) -> None:
    from pathlib import Path

    from app.soul.avatar import render_avatar

    with gr.Blocks():
        tab = ChatTab(services, Labels(), gr.BrowserState(None))
        tab.build()
    session = services.session_signer.sign({"user_id": "faces", "lang": "en"})
    chat = asyncio.run(tab.on_load(session))[0]
    persona = services.soul.get_persona(services.defaults.persona)
    assert chat["label"] == persona.name and chat["show_label"] is True
    user_file, bot_file = (Path(p) for p in chat["avatar_images"])
    assert bot_file.read_bytes() == (persona.avatar_png or render_avatar(persona.name))
    assert user_file.is_file() and user_file != bot_file
    # Another user, another face; the same user, the same file.
    other = services.session_signer.sign({"user_id": "someone", "lang": "en"})
    assert asyncio.run(tab.on_load(other))[0]["avatar_images"][0] != str(user_file)
    assert asyncio.run(tab.on_load(session))[0]["avatar_images"][0] == str(user_file)
