"""Item 3: a Gradio file input reads only what was uploaded to gradio's upload folder.

A raw `/gradio_api/queue/join` call can name any path in a FileData (`{"path": "/etc/..."}`);
mounted with `gr.mount_gradio_app`, gradio's own check was off, so the soul import, the
memory import, the admin restore and the chat's image attachment read server files. Each is
called here the way an attacker calls it, with files outside the upload folder that would
import cleanly if read.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio.utils
import pytest
from PIL import Image, ImageDraw

from app.composition import Services, build_services
from app.ui.admin_tab import AdminTab
from app.ui.chat_tab import ChatTab
from app.ui.memory_tab import MemoryTab
from app.ui.soul_tab import SoulTab
from app.ui.uploads import UploadRefusedError, uploaded_bytes
from config.errors import FileTooLargeError
from config.settings import CONFIG_DIR, Settings
from tests.conftest import LiveServer
from tests.gradio_queue import call, file_data, fn_index, login
from tests.security.conftest import ADMIN_TOKEN, scripted

USER = "web-upload-user"


@pytest.fixture
def server(make_settings: Any) -> Iterator[LiveServer]:
    settings: Settings = make_settings(inner_life=False, admin_token=ADMIN_TOKEN)
    services = build_services(settings)
    scripted(services, settings, ["Fine, thanks."])
    with LiveServer(settings, services) as live:
        yield live
    services.close()


@pytest.fixture
def outside(tmp_path: Path) -> dict[str, Path]:
    """Files on the server, outside gradio's upload folder, each importable if read."""
    folder = tmp_path / "server-files"
    folder.mkdir()
    card = json.loads((CONFIG_DIR / "personas" / "wren.json").read_text(encoding="utf-8"))
    card["data"]["name"] = "Stolen Card"
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    conversation = {
        "format": "ikar.conversation",
        "version": 1,
        "conversation": {"title": "Stolen conversation"},
        "messages": [{"role": "user", "content": "server secret", "created_at": 1_700_000_000}],
    }
    (folder / "chat.json").write_text(json.dumps(conversation), encoding="utf-8")
    image = Image.new("RGB", (640, 160), "white")
    ImageDraw.Draw(image).text((20, 60), "TOPSECRET 4242", fill="black", font_size=40)
    image.save(folder / "secret.png")
    db = sqlite3.connect(folder / "old.sqlite3")
    db.execute("CREATE TABLE t (x)")
    db.close()
    return {p.stem: p for p in folder.iterdir()}


def _session(services: Services) -> dict[str, Any]:
    return services.session_signer.sign({"user_id": USER, "lang": "en"})


def test_the_soul_import_refuses_a_server_path(server: LiveServer, outside: dict) -> None:
    index = fn_index(server.app, SoulTab, "on_import")
    with login(server.url) as client:
        result = call(client, index, [file_data(str(outside["card"])), _session(server.services)])
    assert not result["success"]
    names = [p.name for p in server.services.soul.list_personas()]
    assert "Stolen Card" not in names


def test_the_memory_import_refuses_a_server_path(server: LiveServer, outside: dict) -> None:
    index = fn_index(server.app, MemoryTab, "on_import")
    data = [file_data(str(outside["chat"])), "auto", None, _session(server.services)]
    with login(server.url) as client:
        result = call(client, index, data)
    assert not result["success"]
    assert server.services.chat.conversations.list(USER) == []


def test_the_admin_restore_refuses_a_server_path(server: LiveServer, outside: dict) -> None:
    index = fn_index(server.app, AdminTab, "on_restore")
    data = [ADMIN_TOKEN, _session(server.services), file_data(str(outside["old"])), True]
    with login(server.url) as client:
        result = call(client, index, data)
    assert not result["success"]
    with server.services.db.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] >= 0  # still ours


def test_an_image_attachment_cannot_name_a_server_file(server: LiveServer, outside: dict) -> None:
    index = fn_index(server.app, ChatTab, "on_send")
    data = [
        "what does it say?",
        _session(server.services),
        None,
        "chatumba",
        file_data(str(outside["secret"])),
        False,
        None,  # the greeting shown on an empty chat
    ]
    with login(server.url) as client:
        result = call(client, index, data)
    assert not result["success"]
    for conv in server.services.chat.conversations.list(USER):
        for message in server.services.chat.messages.list(USER, conv.id):
            assert "TOPSECRET" not in json.dumps(message.meta) + message.content


def test_a_real_upload_still_imports(server: LiveServer, outside: dict) -> None:
    with login(server.url) as client:
        with (outside["card"]).open("rb") as handle:
            uploaded = client.post("/gradio_api/upload", files={"files": ("card.json", handle)})
        assert uploaded.status_code == 200, uploaded.text
        path = uploaded.json()[0]
        index = fn_index(server.app, SoulTab, "on_import")
        result = call(client, index, [file_data(path, "card.json"), _session(server.services)])
    assert result["success"], result
    assert "Stolen Card" in [p.name for p in server.services.soul.list_personas(USER)]


# -- the one helper every handler reads uploads through ------------------------------------


@pytest.fixture
def upload_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "gradio-uploads"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    assert Path(gradio.utils.get_upload_folder()) == folder
    return folder


def test_the_helper_reads_a_file_inside_the_upload_folder(upload_folder: Path) -> None:
    (upload_folder / "abc").mkdir()
    (upload_folder / "abc" / "card.json").write_bytes(b"{}")
    assert asyncio.run(uploaded_bytes(str(upload_folder / "abc" / "card.json"), 1024)) == b"{}"


def test_the_helper_refuses_what_is_not_an_upload(upload_folder: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_bytes(b"{}")
    (upload_folder / "x").mkdir()
    (upload_folder / "x" / "link.json").symlink_to(secret)
    (upload_folder / "dir.json").mkdir()
    for path in (
        str(secret),
        "/etc/passwd",
        str(upload_folder / "x" / "link.json"),
        str(upload_folder / "x" / ".." / ".." / "secret.json"),
        str(upload_folder / "dir.json"),
        str(upload_folder / "missing.json"),
        "",
    ):
        with pytest.raises(UploadRefusedError) as caught:
            asyncio.run(uploaded_bytes(path, 1024))
        assert caught.value.status_code == 400
    big = upload_folder / "x" / "big.bin"
    big.write_bytes(b"0" * 2048)
    with pytest.raises(FileTooLargeError):
        asyncio.run(uploaded_bytes(str(big), 1024))


def test_no_handler_reads_a_gradio_path_without_the_helper() -> None:
    """Every UI module that receives file paths reads them through `uploaded_bytes`."""
    root = Path(__file__).resolve().parents[2] / "app" / "ui"
    for module in root.glob("*.py"):
        if module.name not in ("uploads.py", "downloads.py"):  # these two are the helpers
            text = module.read_text(encoding="utf-8")
            assert "read_bytes" not in text and ".open(" not in text, module.name


def test_the_launcher_keeps_gradio_files_in_a_private_folder(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import use_private_gradio_folder

    monkeypatch.setenv("GRADIO_TEMP_DIR", "")  # unset; restored after the test
    settings: Settings = make_settings()
    use_private_gradio_folder(settings)
    folder = Path(gradio.utils.get_upload_folder())
    assert folder == settings.resolved_cache_dir / "gradio"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
