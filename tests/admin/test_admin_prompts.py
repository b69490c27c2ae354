"""Prompt templates: listed, read and saved only inside prompts/soul, only if they parse;
the default persona applies to new chats at once and survives a restart."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from app.composition import build_services
from app.services.admin import AdminError
from app.services.soul_turns import SoulTurnHook
from app.services.turns import TurnContext
from app.storage.records import Message
from tests.admin.conftest import AdminApp

TRAVERSALS = [
    "..",
    "../settings.py",
    "../system.en.j2",
    "../../outside.j2",
    "../prompts/soul/system.en.j2",
    "..%2f..%2foutside.j2",
    "%2e%2e%2f%2e%2e%2foutside.j2",
    "%2E%2E%2Foutside.j2",
    "%252e%252e%252foutside.j2",
    "..%252f..%252foutside.j2",
    "/etc/passwd",
    "//etc/passwd",
    "/tmp/outside.j2",
    "C:\\Windows\\win.ini",
    "..\\..\\outside.j2",
    "..\\outside.j2",
    "soul\\..\\..\\outside.j2",
    "SYSTEM.EN.J2",
    "System.En.j2",
    "..／outside.j2",  # fullwidth solidus
    "．．/outside.j2",  # fullwidth dots
    "system.en.j2/../../outside.j2",
    "./../outside.j2",
    "system.en.j2\x00.txt",
    "link.j2",
]


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def sentinels(tmp_path: Path, prompts_dir: Path) -> Path:
    """Files outside prompts/soul that a traversal would reach, and a symlink pointing out."""
    (tmp_path / "outside.j2").write_text("TOP SECRET outside")
    (prompts_dir / "outside.j2").write_text("TOP SECRET one level up")
    (prompts_dir / "soul" / "link.j2").symlink_to(tmp_path / "outside.j2")
    return tmp_path


def test_list_read_and_save_a_template(admin_app: AdminApp, auth: dict[str, str]) -> None:
    c = admin_app.client
    names = [p["name"] for p in c.get("/api/admin/prompts", headers=auth).json()["items"]]
    assert "system.en.j2" in names and "system.ru.j2" in names
    original = c.get("/api/admin/prompts/system.en.j2", headers=auth).json()["text"]
    assert "{{" in original or "{%" in original
    edited = original + "\n{# edited by the admin #}\n"
    r = c.put("/api/admin/prompts/system.en.j2", headers=auth, json={"text": edited})
    assert r.status_code == 200, r.text
    path = admin_app.services.settings.prompts_dir / "soul" / "system.en.j2"
    assert path.read_text(encoding="utf-8") == edited
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    # the soul's template loader renders the new file
    rendered = admin_app.services.prompts.templates._env.get_template("system.en.j2")
    assert "edited by the admin" in Path(rendered.filename or "").read_text()


@pytest.mark.parametrize(
    "bad",
    [
        "{% if persona %}never closed",
        "{{ unclosed",
        "{% for x in %}{% endfor %}",
        "{% endif %}",
        "{{ 1 + }}",
    ],
)
def test_saving_invalid_jinja_is_refused_and_the_file_kept(
    admin_app: AdminApp, auth: dict[str, str], bad: str
) -> None:
    path = admin_app.services.settings.prompts_dir / "soul" / "note.en.j2"
    before = path.read_bytes()
    r = admin_app.client.put("/api/admin/prompts/note.en.j2", headers=auth, json={"text": bad})
    assert r.status_code == 400
    assert r.json()["error"] == "template_invalid"
    assert "line" in r.json()["message"]
    assert path.read_bytes() == before


def test_path_traversal_is_refused_over_http(
    admin_app: AdminApp, auth: dict[str, str], sentinels: Path
) -> None:
    before = _snapshot(sentinels)
    c = admin_app.client
    for name in TRAVERSALS:
        name = name.replace("\x00", "%00")  # a URL cannot carry a raw NUL
        for raw in (name, name.replace("/", "%2F")):
            url = "/api/admin/prompts/" + raw
            got = c.get(url, headers=auth)
            put = c.put(url, headers=auth, json={"text": "pwned {{ 1 }}"})
            for r in (got, put):
                assert r.status_code in (400, 404), (raw, r.status_code, r.text)
                assert "TOP SECRET" not in r.text
                assert "pwned" not in r.text
    assert _snapshot(sentinels) == before
    assert not any(
        "pwned" in p.read_text(errors="ignore") for p in sentinels.rglob("*.j2") if p.is_file()
    )


def test_path_traversal_is_refused_by_the_service(admin_app: AdminApp, sentinels: Path) -> None:
    admin = admin_app.services.admin
    before = _snapshot(sentinels)
    for name in TRAVERSALS:
        with pytest.raises(AdminError) as read:
            admin.read_prompt(name)
        assert read.value.status_code in (400, 404), name
        with pytest.raises(AdminError) as save:
            admin.save_prompt(name, "pwned")
        assert save.value.status_code in (400, 404), name
    assert _snapshot(sentinels) == before
    # symlinks out of the folder are not even listed
    assert "link.j2" not in [p.name for p in admin.list_prompts()]


def _ctx_without_persona() -> TurnContext:
    message = Message(
        id="m", conversation_id="c", user_id="u", seq=1, role="user", author="u",
        content="hi", created_at=0.0,
    )  # fmt: skip
    return TurnContext("u", "c", None, message, [], "en")


def test_default_persona_applies_at_once_and_survives_a_restart(
    admin_app: AdminApp, auth: dict[str, str], admin_settings: Any
) -> None:
    services = admin_app.services
    c = admin_app.client
    r = c.put("/api/admin/persona", headers=auth, json={"persona": "ikar-ikarych"})
    assert r.status_code == 200, r.text
    assert r.json()["default_persona"] == "ikar-ikarych"
    assert r.json()["configured"] == "chatumba"
    # one object holds the default; the soul hook and the inner life read it
    hooks = [h for h in services.chat.hooks if isinstance(h, SoulTurnHook)]
    assert hooks and all(h.defaults is services.defaults for h in hooks)
    assert services.inner_life.defaults is services.defaults
    assert services.defaults.persona == "ikar-ikarych"
    assert hooks[0].persona_for(_ctx_without_persona()) == "ikar-ikarych"

    bad = c.put("/api/admin/persona", headers=auth, json={"persona": "nobody-here"})
    assert bad.status_code == 404 and bad.json()["error"] == "persona_not_found"

    admin_app.close()
    restarted = build_services(admin_settings)
    try:
        assert restarted.admin.default_persona == "ikar-ikarych"
    finally:
        restarted.close()
    # changing the setting afterwards wins over the stored choice
    changed = build_services(admin_settings.model_copy(update={"default_persona": "ikar-ikarych"}))
    changed.close()
    again = build_services(admin_settings)
    try:
        assert again.admin.default_persona == "chatumba"
        assert "default_persona" not in again.admin.persisted()
    finally:
        again.close()
