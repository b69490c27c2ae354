"""Item 4 (and issue 11 item 1): the signed UI session.

A session the server signed for one login is refused for another login, and after its
expiry; its secret lives in the data folder (mode 0600), so the same browser is the same
user after a restart.
"""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.composition import build_services
from app.security.sessions import SessionInvalidError, SessionSigner
from app.ui.memory_tab import MemoryTab
from app.ui.session import browser_language, browser_user
from config.settings import Settings
from tests.conftest import LiveServer
from tests.gradio_queue import call, fn_index, login
from tests.security.conftest import PASSWORDS


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _page_session(server: LiveServer, name: str) -> dict[str, Any]:
    """The session the server hands the page of the browser logged in as `name`."""
    services = server.services
    return browser_user(
        None,
        SimpleNamespace(username=name),  # type: ignore[arg-type]
        services.session_signer,
        services.auth.user_id_for_name,
    )


def test_a_session_signed_for_one_login_is_refused_for_another(
    live_accounts: tuple[LiveServer, dict[str, str]],
) -> None:
    server, ids = live_accounts
    alice_session = _page_session(server, "alice")
    assert alice_session["user_id"] == ids["alice"]
    add = fn_index(server.app, MemoryTab, "on_add")
    with login(server.url, "bob", PASSWORDS["bob"]) as bob:
        stolen = call(bob, add, ["bob writes into alice", "manual", False, alice_session])
        own = call(bob, add, ["bob's own note", "manual", False, _page_session(server, "bob")])
    memory = server.services.memory
    assert not stolen["success"], stolen
    assert [m.text for m in memory.list_memories(ids["alice"]).items] == []
    assert own["success"], own
    assert [m.text for m in memory.list_memories(ids["bob"]).items] == ["bob's own note"]


def test_a_session_expires() -> None:
    clock = FakeClock()
    signer = SessionSigner(b"k" * 32, ttl_s=3600, clock=clock)
    session = signer.sign({"user_id": "web-1", "lang": "en"})
    assert signer.user_of(session) == "web-1"
    clock.now += 3601
    with pytest.raises(SessionInvalidError):
        signer.user_of(session)


def test_a_session_is_bound_to_its_login() -> None:
    signer = SessionSigner(b"k" * 32)
    session = signer.sign({"user_id": "u-alice", "lang": "en"}, login="alice")
    assert signer.user_of(session, login="alice") == "u-alice"
    for other in ("bob", None, "ALICE "):
        with pytest.raises(SessionInvalidError):
            signer.user_of(session, login=other)
    # a signed session cannot be re-pointed at another user or login by editing it
    for edit in ({"user_id": "u-bob"}, {"login": "bob"}, {"exp": session["exp"] + 10**6}):
        with pytest.raises(SessionInvalidError):
            signer.user_of({**session, **edit}, login=edit.get("login", "alice"))


def test_the_secret_survives_a_restart_and_is_private(settings: Settings) -> None:
    first = build_services(settings)
    try:
        session = first.session_signer.sign({"user_id": "web-abc", "lang": "en"})
        browser_secret = first.session_signer.browser_secret
    finally:
        first.close()
    key_file = settings.data_dir / "ui-session.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = build_services(settings)
    try:
        assert second.session_signer.user_of(session) == "web-abc"
        assert second.session_signer.browser_secret == browser_secret
    finally:
        second.close()
    # the key the browser sees (gr.BrowserState's, in the page config) is not the signing key
    assert browser_secret.encode() not in key_file.read_bytes()


def test_a_key_file_readable_by_others_is_made_private(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_file: Path = settings.data_dir / "ui-session.key"
    key_file.write_text("ab" * 32)
    key_file.chmod(0o644)
    services = build_services(settings)
    services.close()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_first_visit_takes_the_browsers_language_and_a_stored_choice_holds() -> None:
    def request(accept: str | None) -> Any:
        return SimpleNamespace(headers={"accept-language": accept} if accept else {})

    assert browser_language(request("de-DE,de;q=0.9,en;q=0.8,ru;q=0.7"), "ru") == "en"
    assert browser_language(request("ru-RU,ru;q=0.9"), "en") == "ru"
    assert browser_language(request("fr-FR"), "en") == "en"  # neither: the configured one
    assert browser_language(request(None), "ru") == "ru"
    assert browser_language(None, "en") == "en"
    signer = SessionSigner(b"k" * 32)
    first = browser_user(None, request("en-US"), signer, default_lang="ru")
    assert first["lang"] == "en"
    chosen = browser_user({**first, "lang": "ru"}, request("en-US"), signer, default_lang="ru")
    assert chosen["lang"] == "ru"  # what the page chose wins over the browser
