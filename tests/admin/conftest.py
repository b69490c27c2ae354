"""Fixtures for the admin tests: an app with an admin token and its own prompt folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.composition import Services, build_services
from app.factory import create_app
from config.settings import CONFIG_DIR, Settings

TOKEN = "adm1n-Test-Token-0123456789abcdefXYZ"


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    """A copy of the shipped prompts: saving a template never touches the checkout."""
    target = tmp_path / "prompts"
    shutil.copytree(CONFIG_DIR / "prompts", target)
    return target


@pytest.fixture
def admin_settings(make_settings: Any, prompts_dir: Path) -> Settings:
    return make_settings(  # type: ignore[no-any-return]
        admin_token=TOKEN, prompts_dir=prompts_dir, admin_lockout_after=50
    )


class AdminApp:
    def __init__(self, settings: Settings) -> None:
        self.services: Services = build_services(settings)
        self.app = create_app(settings, self.services)
        self.client = TestClient(self.app)

    def close(self) -> None:
        self.services.close()


@pytest.fixture
def admin_app(admin_settings: Settings) -> Iterator[AdminApp]:
    built = AdminApp(admin_settings)
    yield built
    built.close()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def fake_request(host: str = "10.0.0.7") -> Any:
    """What the admin check reads from a `gr.Request`: headers, query and the client."""
    return SimpleNamespace(headers={}, query_params={}, client=SimpleNamespace(host=host))


def seed_user(services: Services, user_id: str, messages: int = 2, name: str | None = None) -> str:
    """A user with one conversation of `messages` messages and a soul state."""
    services.users.get_or_create(user_id, name or user_id)
    conv = services.chat.conversations.create(user_id, f"chat of {user_id}")
    for i in range(messages):
        role = "user" if i % 2 == 0 else "assistant"
        services.chat.messages.add(conv.id, user_id, role, role, f"{user_id} message {i}")
    services.soul.get_state(user_id, "chatumba")
    return conv.id
