"""Media markers and image attachments in chat turns; the soul's inner life."""

import asyncio
import io
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from app.composition import build_services
from config.settings import Settings
from tests.app.fakes import ScriptedBackend, services_with
from tests.browser import browser_page
from tests.conftest import LiveServer


def test_speak_marker_is_hidden_and_becomes_audio(settings: Settings) -> None:
    backend = ScriptedBackend(words=["Sure, listen. ", 'SPEAK!{"text": "Hello from IKAR."}'])
    services = services_with(settings, backend)
    final = asyncio.run(services.chat.complete("u1", "Say hello aloud"))
    assert final.type == "done"
    assert "SPEAK" not in (final.reply or "") and final.reply == "Sure, listen."
    assert final.outcome is not None and final.outcome.media is not None
    media = final.outcome.media_wire()
    assert media is not None and media[0]["kind"] == "speech" and media[0]["key"]
    path = services.media.artifact_path(media[0]["key"])
    assert path is not None and path.read_bytes()[:4] == b"RIFF"
    stored = services.chat.messages.list("u1", final.conversation_id)[-1]
    assert stored.content == "Sure, listen." and stored.meta["media"][0]["key"] == media[0]["key"]
    assert services.chat.messages.owns_artifact("u1", media[0]["key"])
    assert not services.chat.messages.owns_artifact("someone-else", media[0]["key"])
    services.close()


def test_broken_marker_never_reaches_the_user(settings: Settings) -> None:
    backend = ScriptedBackend(words=["Here you go ", 'IMAGE!{"prompt": "a cat", "width": ', "oops"])
    services = services_with(settings, backend)
    final = asyncio.run(services.chat.complete("u1", "Draw a cat"))
    assert final.type == "done" and "IMAGE" not in (final.reply or "")
    assert final.reply == "Here you go"
    services.close()


def test_persona_prompt_tells_the_model_about_markers(settings: Settings) -> None:
    backend = ScriptedBackend(words=["ok"])
    services = services_with(settings, backend)
    asyncio.run(services.chat.complete("u1", "hi"))
    system = backend.prompts[-1][0].content
    assert "SPEAK!" in system and "IMAGE!" in system
    services.close()


def test_attachment_text_reaches_the_prompt_and_is_stored(settings: Settings) -> None:
    backend = ScriptedBackend(words=["I see it."])
    services = services_with(settings, backend)
    final = asyncio.run(
        services.chat.complete(
            "u1", "What does this say?", meta={"attachment_text": "INVOICE 42 total 99 EUR"}
        )
    )
    last_user = backend.prompts[-1][-1]
    assert last_user.role == "user" and "INVOICE 42 total 99 EUR" in last_user.content
    stored = services.chat.messages.list("u1", final.conversation_id)[0]
    assert stored.content == "What does this say?"
    assert stored.meta["attachment_text"] == "INVOICE 42 total 99 EUR"
    services.close()


def test_inner_life_writes_first_within_the_hourly_cap(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(max_unprompted_per_hour=1)
    backend = ScriptedBackend(words=["I was thinking about you."])
    services = services_with(settings, backend)
    final = asyncio.run(services.chat.complete("u1", "Hello"))
    cid = final.conversation_id
    # a soul wide awake and autonomous, after a long silence
    from app.soul import SoulAction, SoulActionKind

    for kind in (SoulActionKind.RAISE_CONSCIOUSNESS, SoulActionKind.RAISE_AUTONOMY):
        for _ in range(10):
            services.soul.apply_action("u1", "chatumba", SoulAction(kind=kind, amount=1.0))
    later = time.time() + 6 * 3600
    events = []
    for minute in range(240):  # four hours of ticks, one a minute
        events += services.inner_life.tick(now=later + minute * 60, force_model=True)
    firsts = [e for e in events if e.kind == "first_message"]
    assert firsts, "an awake, autonomous soul should write first after hours of silence"
    msgs = services.chat.messages.list("u1", cid)
    unprompted = [m for m in msgs if m.meta.get("unprompted")]
    assert len(unprompted) == len(firsts)
    assert all(m.role == "assistant" and m.content for m in unprompted)
    # never more than the cap in any hour
    times = sorted(m.created_at for m in unprompted)
    for i, ts in enumerate(times):
        assert sum(1 for other in times[i:] if other - ts < 3600) <= 1
    services.close()


def test_inner_life_does_not_load_a_model_to_daydream(settings: Settings) -> None:
    services = build_services(settings)  # real backend, not loaded
    assert services.inner_life.tick() == []
    assert services.models.status().state == "unloaded"
    services.close()


def _text_png(lines: list[str]) -> bytes:
    img = Image.new("RGB", (640, 80 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=40)
    for i, line in enumerate(lines):
        draw.text((20, 20 + 70 * i), line, fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_attach_image_and_see_its_text_used(settings: Settings, tmp_path: Path) -> None:

    image = tmp_path / "note.png"
    image.write_bytes(_text_png(["Meeting at noon", "Room 42"]))
    with LiveServer(settings) as server, browser_page() as page:
        page.goto(server.url + "/")
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        page.locator("#media-tools").get_by_role("button").first.click()
        page.locator("#chat-attach input[type=file]").set_input_files(str(image))
        page.locator("#chat-attach").get_by_text("note.png").wait_for(timeout=30_000)
        page.fill("#chat-input textarea", "What is written here?")
        page.click("#send")
        page.locator("#chatbot").get_by_text("Room 42").first.wait_for(timeout=120_000)
        convs = server.services.chat.conversations.list
        user_msgs = []
        for uid in [u.id for u in server.services.users.list()]:
            for conv in convs(uid):
                user_msgs += [
                    m for m in server.services.chat.messages.list(uid, conv.id) if m.role == "user"
                ]
        assert any("Room 42" in str(m.meta.get("attachment_text", "")) for m in user_msgs)


def test_a_reply_that_only_speaks_is_shown_as_text_too(settings: Settings) -> None:
    backend = ScriptedBackend(words=['SPEAK!{"text": "Your name is Marta."}'])
    services = services_with(settings, backend)
    final = asyncio.run(services.chat.complete("u1", "What is my name?"))
    assert final.reply == "Your name is Marta."
    assert final.outcome is not None and final.outcome.media is not None
    assert final.outcome.media[0].kind == "speech"
    services.close()


def test_markers_are_never_streamed(settings: Settings) -> None:
    backend = ScriptedBackend(words=["Sure, ", "listen. ", "SPE", 'AK!{"text": ', '"Hi!"}'])
    services = services_with(settings, backend)

    async def collect():  # type: ignore[no-untyped-def]
        return [e async for e in services.chat.send("u1", "Say hi aloud")]

    events = asyncio.run(collect())
    streamed = "".join(e.text for e in events if e.type == "token")
    assert streamed.strip() == "Sure, listen."
    assert events[-1].reply == "Sure, listen."
    services.close()
