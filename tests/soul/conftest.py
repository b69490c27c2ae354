"""Shared fixtures for the soul tests: a real Database in a temp dir, the shipped templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.soul.manager import SoulManager
from app.soul.prompt_templates import PromptTemplates
from app.storage.database import Database

FIXTURES = Path(__file__).parent / "fixtures"


def word_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about one token per 4 characters."""
    return len(text) // 4 + 1


@pytest.fixture
def card_v2() -> dict[str, Any]:
    return json.loads((FIXTURES / "card_v2.json").read_text(encoding="utf-8"))


@pytest.fixture
def card_v3() -> dict[str, Any]:
    return json.loads((FIXTURES / "card_v3.json").read_text(encoding="utf-8"))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "ikar.db")
    yield database
    database.close()


@pytest.fixture
def manager(db: Database) -> SoulManager:
    soul = SoulManager(db)
    soul.seed_builtin_personas()
    return soul


@pytest.fixture(scope="session")
def templates() -> PromptTemplates:
    return PromptTemplates()
