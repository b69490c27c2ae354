"""An app with two accounts (alice, bob) and a scripted chat model, as an attacker meets it.

The chat model is a scripted stand-in (the attack is on the app, not the model; the real
model answers the same routes in tests/app); speech is the real piper voice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.composition import Services, build_services
from app.factory import create_app
from config.settings import Settings
from tests.app.fakes import ScriptedBackend, use_scripted
from tests.conftest import LiveServer

PASSWORDS = {"alice": "alice-password-123", "bob": "bob-password-456"}
ADMIN_TOKEN = "security-Admin-Token-0123456789abcdef"


@dataclass
class Accounts:
    """The app, its services, a client, and each account's id and REST headers."""

    settings: Settings
    services: Services
    client: TestClient
    ids: dict[str, str]
    tokens: dict[str, str]

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def scripted(services: Services, settings: Settings, words: list[str]) -> None:
    """Answer chat turns with `words` (a real model would take minutes per attack)."""
    use_scripted(services, ScriptedBackend(words=words))


def accounts_services(
    settings: Settings, words: list[str] | None = None
) -> tuple[Services, dict[str, str], dict[str, str]]:
    """Services with the two accounts (ids, API tokens) and the scripted model."""
    services = build_services(settings)
    scripted(services, settings, words or ["Noted. ", 'SPEAK!{"text": "Noted."}'])
    ids, tokens = {}, {}
    for name, password in PASSWORDS.items():
        ids[name] = services.auth.create_user(name, password)
        tokens[name] = services.auth.issue_api_token(ids[name])
    return services, ids, tokens


def build_accounts(settings: Settings, words: list[str] | None = None) -> Accounts:
    services, ids, tokens = accounts_services(settings, words)
    client = TestClient(create_app(settings, services), raise_server_exceptions=False)
    return Accounts(settings, services, client, ids, tokens)


@pytest.fixture
def accounts_settings(make_settings: Any) -> Settings:
    return make_settings(  # type: ignore[no-any-return]
        inner_life=False,
        chat_rate_per_min=1000.0,
        admin_token=ADMIN_TOKEN,
        admin_lockout_after=1000,
    )


@pytest.fixture
def accounts(accounts_settings: Settings) -> Iterator[Accounts]:
    built = build_accounts(accounts_settings)
    with built.client:
        yield built
    built.services.close()


@pytest.fixture
def live_accounts(accounts_settings: Settings) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """The app with both accounts, served by uvicorn (Gradio's queue needs a real server)."""
    services, ids, _ = accounts_services(accounts_settings)
    with LiveServer(accounts_settings, services) as server:
        yield server, ids
    services.close()
