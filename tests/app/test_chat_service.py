"""The chat pipeline's decisions: regenerate, edit, stop, failures that keep data."""

import asyncio
import threading

import pytest

from app.composition import Services
from app.services.errors import NotFound, ServiceError
from config.settings import Settings
from models.errors import LLMTimeoutError
from tests.app.fakes import ScriptedBackend, services_with


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _collect(events):  # type: ignore[no-untyped-def]
    return [e async for e in events]


def test_real_model_turn_stores_both_messages(services: Services) -> None:
    final = _run(services.chat.complete("u1", "Hi there"))
    assert final.type == "done" and final.reply
    msgs = services.chat.messages.list("u1", final.conversation_id)
    assert [(m.role, m.content) for m in msgs] == [("user", "Hi there"), ("assistant", final.reply)]


def test_regenerate_replaces_only_the_last_reply(services: Services) -> None:
    first = _run(services.chat.complete("u1", "Tell me a joke"))
    cid = first.conversation_id
    events = _run(_collect(services.chat.regenerate("u1", cid)))
    done = events[-1]
    assert done.type == "done"
    msgs = services.chat.messages.list("u1", cid)
    assert [m.role for m in msgs] == ["user", "assistant"]
    assert msgs[1].id == done.message_id != first.message_id


def test_edit_last_rewrites_the_tail(services: Services) -> None:
    first = _run(services.chat.complete("u1", "My name is Bob"))
    cid = first.conversation_id
    _run(_collect(services.chat.edit_last("u1", cid, "My name is Alice")))
    msgs = services.chat.messages.list("u1", cid)
    assert [m.content for m in msgs if m.role == "user"] == ["My name is Alice"]
    assert len(msgs) == 2
    with pytest.raises(ServiceError):
        _run(_collect(services.chat.edit_last("u1", cid, "")))


def test_unknown_conversation_and_empty_regenerate(services: Services) -> None:
    with pytest.raises(NotFound):
        _run(_collect(services.chat.regenerate("u1", "missing")))
    with pytest.raises(NotFound):
        _run(services.chat.complete("u1", "hi", conversation_id="missing"))


def test_backend_timeout_keeps_the_users_message(settings: Settings) -> None:
    backend = ScriptedBackend(words=[], error=LLMTimeoutError("too slow"))
    services = services_with(settings, backend)
    final = _run(services.chat.complete("u1", "Are you there?"))
    assert final.type == "error" and final.failure and final.failure.code == "timeout"
    msgs = services.chat.messages.list("u1", final.conversation_id)
    assert [m.content for m in msgs] == ["Are you there?"]
    # and the app keeps serving
    backend.error = None
    backend.words = ["yes"]
    ok = _run(services.chat.complete("u1", "Now?", conversation_id=final.conversation_id))
    assert ok.type == "done" and ok.reply == "yes"
    services.close()


def test_stop_keeps_the_partial_reply(settings: Settings) -> None:
    backend = ScriptedBackend(words=[f" w{i}" for i in range(200)], delay_s=0.01)
    services = services_with(settings, backend)

    async def scenario():  # type: ignore[no-untyped-def]
        events = []
        async for event in services.chat.send("u1", "Talk a lot"):
            events.append(event)
            if sum(e.type == "token" for e in events) == 3:
                assert services.chat.stop("u1")
        return events

    events = _run(scenario())
    done = events[-1]
    assert done.type == "done" and done.stopped
    stored = services.chat.messages.list("u1", done.conversation_id)[-1]
    assert stored.meta.get("stopped") is True
    assert 3 <= len(stored.content.split()) < 200
    assert services.chat.stop("u1") is False  # nothing running any more
    services.close()


def test_history_is_sent_with_real_roles(settings: Settings) -> None:
    backend = ScriptedBackend(words=["ok"])
    services = services_with(settings, backend)
    first = _run(services.chat.complete("u1", "first {{ braces }}"))
    _run(services.chat.complete("u1", "second", conversation_id=first.conversation_id))
    prompt = backend.prompts[-1]
    roles = [m.role for m in prompt]
    assert roles[0] == "system" and roles[-1] == "user"
    assert prompt[-1].content == "second"
    # the earlier turn is present in its real roles, braces inserted literally
    first_idx = next(i for i, m in enumerate(prompt) if m.content == "first {{ braces }}")
    assert prompt[first_idx].role == "user"
    assert prompt[first_idx + 1].role == "assistant" and prompt[first_idx + 1].content == "ok"
    services.close()


def test_concurrent_turns_in_threads_do_not_mix(services: Services) -> None:
    results: dict[str, str] = {}

    def turn(user: str) -> None:
        final = asyncio.run(services.chat.complete(user, f"Hello from {user}"))
        results[user] = final.conversation_id or ""

    threads = [threading.Thread(target=turn, args=(f"user{i}",)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for user, cid in results.items():
        msgs = services.chat.messages.list(user, cid)
        assert msgs[0].content == f"Hello from {user}"


def test_switching_persona_mid_conversation_is_recorded(services: Services) -> None:
    first = _run(services.chat.complete("u1", "Hello", persona_id="chatumba"))
    cid = first.conversation_id
    second = _run(
        services.chat.complete("u1", "Good evening", conversation_id=cid, persona_id="ikar-ikarych")
    )
    assert second.type == "done"
    msgs = services.chat.messages.list("u1", cid)
    switch = [m for m in msgs if m.role == "system"]
    assert len(switch) == 1
    assert switch[0].meta["persona_switch"] == {"from": "chatumba", "to": "ikar-ikarych"}
    assert msgs[-1].persona_id == "ikar-ikarych" and msgs[1].persona_id == "chatumba"
    assert services.chat.conversations.get("u1", cid).persona_id == "ikar-ikarych"


def test_a_failed_turn_reports_a_real_message_in_ui_and_api(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from app.factory import create_app
    from app.i18n import MESSAGES, t

    services = services_with(settings, ScriptedBackend(words=[], error=LLMTimeoutError("slow")))
    final = _run(services.chat.complete("u1", "Hello?"))
    failure = final.failure
    assert failure is not None and failure.key in MESSAGES and failure.status == 504
    assert "did not answer" in t(failure.key, "en", **failure.params)
    with TestClient(create_app(settings, services)) as client:
        r = client.post("/api/chat", json={"message": "Hello again?"})
    assert r.status_code == 504
    assert r.json()["error"] == "timeout"
    assert "did not answer" in r.json()["messages"]["en"]
    assert "не ответила" in r.json()["messages"]["ru"]


def test_the_running_reply_is_readable_while_it_is_written(settings: Settings) -> None:
    """What a page opened mid-reply shows: the text so far of the user's running turn."""
    services = services_with(settings, ScriptedBackend(words=["One", " two", " three"]))
    seen: list[tuple[str, str] | None] = []

    async def watch() -> None:
        assert services.chat.running_reply("u1") is None
        async for event in services.chat.send("u1", "count"):
            running = services.chat.running_reply("u1")
            seen.append((running.conversation_id, running.text) if running else None)
            if event.type == "token":
                assert services.chat.running_reply("someone-else") is None

    _run(watch())
    cid = services.chat.conversations.list("u1")[0].id
    texts = [s[1] for s in seen if s is not None and s[0] == cid]
    assert "One two" in texts and "One two three" in texts  # it grows with each token
    assert services.chat.running_reply("u1") is None  # gone when the turn ends
    services.close()
