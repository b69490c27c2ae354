"""Every error message exists in Russian and English, in the one catalogue.

Errors name catalogue keys, never free text (config/errors.py). This walks both ways an error
gets its key: the class default of every `IkarError` subclass, and the key (or soul code)
written at each raise site, found with `ast` in the source.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.i18n import MESSAGES, t
from config.errors import IkarError, MessageKey

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "models", "memory", "media", "config")
# Raise sites whose first argument is a message key, and those whose first argument is a
# soul error code (its key is "soul.error.<code>").
KEY_FIRST = {"ServiceError", "NotFound", "AdminError"}
SOUL_CODE_FIRST = {"SoulError", "CardError"}
_KEY_SHAPE = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")


def _import_everything() -> None:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            importlib.import_module(info.name)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _raise_site_keys() -> Iterator[tuple[str, str]]:
    """(where, key) for every error constructed with a literal key or soul code."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            soul_inits = set()  # `super().__init__("code", ...)` in soul error classes
            for cls in ast.walk(tree):
                bases = {getattr(b, "id", "") for b in getattr(cls, "bases", [])}
                if isinstance(cls, ast.ClassDef) and bases & SOUL_CODE_FIRST:
                    soul_inits |= {id(n) for n in ast.walk(cls) if isinstance(n, ast.Call)}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                literals = _literals(node.args[0])
                if name in KEY_FIRST:
                    yield from ((where, key) for key in literals)
                elif name in SOUL_CODE_FIRST or (name == "__init__" and id(node) in soul_inits):
                    yield from ((where, f"soul.error.{code}") for code in literals)


def _literals(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):  # CardError("a" if x else "b")
        return _literals(node.body) + _literals(node.orelse)
    return []


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_catalogue_entry_has_russian_and_english_with_the_same_placeholders() -> None:
    for key, (ru, en) in MESSAGES.items():
        assert ru.strip() and en.strip(), key
        assert _fields(ru) == _fields(en), key


def test_every_error_class_names_a_key_in_both_languages() -> None:
    _import_everything()
    classes = [IkarError, *_subclasses(IkarError)]
    assert len(classes) > 20  # the walk found the subsystems' errors too
    missing = []
    for cls in classes:
        key = cls.__dict__.get("key")
        if key is None:  # inherits its key, or names one per instance (checked below)
            continue
        if key not in MESSAGES:
            missing.append(f"{cls.__module__}.{cls.__name__}: {key}")
    assert missing == []


def test_every_key_written_at_a_raise_site_exists() -> None:
    sites = list(_raise_site_keys())
    assert len(sites) > 40
    missing = [f"{where}: {key}" for where, key in sites if key not in MESSAGES]
    assert missing == []
    assert all(_KEY_SHAPE.match(key) for _, key in sites)


def test_import_failure_reasons_are_translated() -> None:
    from memory.conversation_import import ImportFormatError  # noqa: F401  (the codes' owner)

    source = (ROOT / "memory" / "conversation_import.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'ImportFormatError\(\s*"([a-z_]+)"', source))
    assert codes
    for code in codes:
        assert f"memory.import_reason.{code}" in MESSAGES, code


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_error_reads_in_the_language_asked_for(lang: str) -> None:
    from app.errors import error_body, message
    from app.services.errors import ServiceError

    reason = MessageKey("memory.import_reason.too_large")
    exc = ServiceError("error.import_failed", code="too_large", reason=reason, detail="9 bytes")
    text = message(exc, lang)
    assert "{" not in text and "9 bytes" in text
    assert t("memory.import_reason.too_large", lang) in text
    body = error_body(exc, "ru-RU" if lang == "ru" else None)
    assert body["error"] == "import_failed" and body["message"] == text
    assert set(body["messages"]) == {"ru", "en"}
