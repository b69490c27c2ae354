"""Item 12 in the browser's protocol: the chat box, the conversation import and speech answer
bad text with a translated warning (a toast), never gradio's red 'Error', and store nothing.
(Speech in the UI reads replies, the model's text: the voices drop what they cannot say,
tests/media; typed text reaches speech only over REST, tests/security/test_bad_input.py.)

Each event is called the way the page calls it (`/gradio_api/queue/join`), so what a
browser or a script can put in a textbox or a file reaches the handlers unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.composition import Services, build_services
from app.i18n import t
from app.ui.chat_media import ChatMedia
from app.ui.chat_tab import ChatTab
from app.ui.memory_tab import MemoryTab
from config.settings import Settings
from config.validation import displayable
from tests.conftest import LiveServer
from tests.gradio_queue import call, file_data, fn_index, login
from tests.security.conftest import scripted

USER = "web-bad-input"


@pytest.fixture
def server(make_settings: Any) -> Iterator[LiveServer]:
    settings: Settings = make_settings(inner_life=False)
    services = build_services(settings)
    scripted(services, settings, ["Fine, thanks."])
    with LiveServer(settings, services) as live:
        yield live
    services.close()


def _session(services: Services, lang: str = "en") -> dict[str, Any]:
    return services.session_signer.sign({"user_id": USER, "lang": lang})


def _warnings(result: dict[str, Any]) -> list[str]:
    assert result["success"], result  # no red 'Error' badge
    return [str(m.get("log")) for m in result["logs"] if m.get("level") == "warning"]


@pytest.mark.parametrize(
    ("text", "lang"), [("hi \ud800 there", "en"), ("a\x00b", "ru"), ("\udfff", "en")]
)
def test_the_chat_box_warns_about_a_broken_character_and_keeps_the_text(
    server: LiveServer, text: str, lang: str
) -> None:
    index = fn_index(server.app, ChatTab, "on_send")
    # text, session, conversation, persona, attachment, speak, greeting
    data = [text, _session(server.services, lang), None, "chatumba", None, False, None]
    with login(server.url) as client:
        result = call(client, index, data)
    warnings = _warnings(result)
    expected = t("error.invalid_text", lang, field="message", position=0, char="U+0000")
    assert warnings and warnings[0].split(":")[0] == expected.split(":")[0], warnings
    # The typed text stays in the box; a lone surrogate (no UTF-8 can carry it back to the
    # page) shows as U+FFFD where it was.
    # The message box (second output) is never cleared: gradio leaves out a value the page
    # already shows, else it is the typed text.
    box = result["output"]["data"][1]
    assert isinstance(box, dict) and box.get("value", displayable(text)) == displayable(text), box
    assert server.services.chat.conversations.list(USER) == []


def _upload(client: httpx.Client, name: str, content: str) -> str:
    response = client.post(
        "/gradio_api/upload", files={"files": (name, content.encode(), "application/json")}
    )
    assert response.status_code == 200, response.text
    path: str = response.json()[0]
    return path


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "surrogate.json",
            json.dumps(
                {
                    "format": "ikar.conversation",
                    "version": 1,
                    "messages": [{"role": "user", "content": "x\ud800", "created_at": 1}],
                }
            ),
            "memory.import_reason.invalid_text",
        ),
        ("deep.json", "[" * 50_000 + "]" * 50_000, "memory.import_reason.too_deep"),
        (
            "huge-time.json",
            '{"format": "ikar.conversation", "version": 1, "messages":'
            ' [{"role": "user", "content": "hi", "created_at": 1e400}]}',
            "memory.import_reason.bad_time",
        ),
    ],
)
def test_the_conversation_import_warns_about_a_broken_file(
    server: LiveServer, name: str, content: str, reason: str
) -> None:
    index = fn_index(server.app, MemoryTab, "on_import")
    with login(server.url) as client:
        path = _upload(client, name, content)
        result = call(
            client, index, [file_data(path, name), "auto", None, _session(server.services)]
        )
    warnings = _warnings(result)
    assert warnings and t(reason, "en") in warnings[0], warnings
    assert server.services.chat.conversations.list(USER) == []


def test_the_drawing_box_warns_about_a_broken_character(server: LiveServer) -> None:
    index = fn_index(server.app, ChatMedia, "draw")
    data = ["a cat \ud800", "", 64, 64, 1, 0, [], _session(server.services)]
    with login(server.url) as client:
        result = call(client, index, data)
    warnings = _warnings(result)
    assert warnings and "U+D800" in warnings[0], warnings
