"""Chat tab callbacks against real `Services` (the streaming path is covered in a browser)."""

import asyncio

import gradio as gr

from app.composition import Services
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
