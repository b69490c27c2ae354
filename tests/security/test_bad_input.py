"""Item 12: inputs that answered 500 (or ran for minutes) get a 4xx with a clear message in
both languages, store nothing, and break nothing afterwards.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from app.storage.records import Message
from tests.security.conftest import Accounts

JSON = {"content-type": "application/json"}


def _refused(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body: dict[str, Any] = response.json()
    assert body["messages"]["ru"] and body["messages"]["en"], body
    assert "Traceback" not in response.text and "Internal error" not in body["messages"]["en"]
    return body


def _ikar_export(created_at: Any, content: str = "hello") -> bytes:
    return json.dumps(
        {
            "format": "ikar.conversation",
            "version": 1,
            "conversation": {"title": "t"},
            "messages": [{"role": "user", "content": content, "created_at": created_at}],
        }
    ).encode()


def _import(accounts: Accounts, data: bytes | str, name: str = "chat.json") -> Any:
    raw = data.encode() if isinstance(data, str) else data
    return accounts.client.post(
        "/api/conversations/import",
        files={"file": (name, raw, "application/json")},
        headers=accounts.headers("alice"),
    )


def test_a_lone_surrogate_in_a_chat_message_is_refused(accounts: Accounts) -> None:
    for text in ("hi \\ud800 there", "\\udfff", "a\\ud83d"):  # a lone half of an emoji too
        response = accounts.client.post(
            "/api/chat",
            content='{"message": "' + text + '"}',
            headers={**JSON, **accounts.headers("alice")},
        )
        body = _refused(response)
        assert body["error"] == "invalid_text"
    assert accounts.services.chat.conversations.list(accounts.ids["alice"]) == []


def test_a_nul_in_a_chat_message_is_refused(accounts: Accounts) -> None:
    response = accounts.client.post(
        "/api/chat", json={"message": "hi\x00there"}, headers=accounts.headers("alice")
    )
    assert _refused(response)["error"] == "invalid_text"


def test_a_lone_surrogate_in_an_import_is_refused(accounts: Accounts) -> None:
    text = _ikar_export(1_700_000_000).decode().replace('"hello"', '"hel\\ud800lo"')
    body = _refused(_import(accounts, text))
    assert body["error"] == "import_failed"
    assert accounts.services.chat.conversations.list(accounts.ids["alice"]) == []


@pytest.mark.parametrize("text", ["hello\x00world", "\x00", "x\x00" * 50, "hi \ud800"])
def test_nul_and_broken_characters_in_speech_are_refused(accounts: Accounts, text: str) -> None:
    payload = json.dumps({"text": text}, ensure_ascii=True)
    response = accounts.client.post(
        "/api/tts", content=payload, headers={**JSON, **accounts.headers("alice")}
    )
    body = _refused(response)
    assert body["error"] == "invalid_text"
    assert "U+0000" in body["messages"]["en"] or "U+D800" in body["messages"]["en"]


def test_speech_still_says_ordinary_text(accounts: Accounts) -> None:
    """The check refuses control characters, not what text has: tabs, line breaks, emoji."""
    response = accounts.client.post(
        "/api/tts",
        json={"text": "Hello,\tworld.\nSecond line 😀"},
        headers=accounts.headers("alice"),
    )
    assert response.status_code == 200, response.text[:300]
    assert response.content[:4] == b"RIFF"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/memory", '{"text": "note \\u0000 here"}'),
        ("POST", "/api/memory/search", '{"query": "\\ud800"}'),
        ("PUT", "/api/memory/1", '{"text": "x\\udbff"}'),
        ("POST", "/api/chat", '{"message": "hi", "persona": "\\ud800"}'),
        ("POST", "/api/images", '{"prompt": "a cat", "negative_prompt": "\\udc00"}'),
    ],
)
def test_every_json_body_refuses_broken_characters_the_same_way(
    accounts: Accounts, method: str, path: str, body: str
) -> None:
    """One rule at the edge (config/validation.py `CleanInput`), the same 400 everywhere."""
    response = accounts.client.request(
        method, path, content=body, headers={**JSON, **accounts.headers("alice")}
    )
    assert _refused(response)["error"] == "invalid_text"
    assert accounts.services.memory.list_memories(accounts.ids["alice"]).total == 0


def test_a_deeply_nested_json_import_is_refused(accounts: Accounts) -> None:
    for doc in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        body = _refused(_import(accounts, doc))
        assert body["error"] == "import_failed"
    sillytavern = '{"user_name": "u", "character_name": "c"}\n' + "[" * 100_000 + "]" * 100_000
    _refused(_import(accounts, sillytavern, "chat.jsonl"))
    assert accounts.services.chat.conversations.list(accounts.ids["alice"]) == []


def test_a_deeply_nested_request_body_is_refused(accounts: Accounts) -> None:
    response = accounts.client.post(
        "/api/chat",
        content='{"message": ' + "[" * 100_000 + "]" * 100_000 + "}",
        headers={**JSON, **accounts.headers("alice")},
    )
    assert 400 <= response.status_code < 500
    _refused(response, response.status_code)


@pytest.mark.parametrize(
    "created_at",
    [
        "1e400",
        str(2**80),
        "-1e20",
        "1" * 5000,
        '"99999-01-01T00:00:00"',
        '"2024-13-05 @10h 00m"',  # month 13 in SillyTavern's shape
        "NaN",
    ],
)
def test_an_impossible_timestamp_is_refused_and_breaks_no_export(
    accounts: Accounts, created_at: str
) -> None:
    text = _ikar_export("PLACEHOLDER").decode().replace('"PLACEHOLDER"', created_at)
    body = _refused(_import(accounts, text))
    assert body["error"] == "import_failed"
    assert accounts.services.chat.conversations.list(accounts.ids["alice"]) == []


def test_a_sillytavern_chat_with_an_impossible_date_imports_estimated_and_exports(
    accounts: Accounts,
) -> None:
    """SillyTavern's dates are free text: an unreadable one is estimated, as before."""
    lines = [
        {"user_name": "u", "character_name": "c", "create_date": 2**80},
        {"name": "u", "is_user": True, "mes": "hi", "send_date": 1e400},
        {"name": "c", "is_user": False, "mes": "hello", "send_date": -(10**20)},
    ]
    text = "\n".join(json.dumps(line) for line in lines).replace("Infinity", "1e400")
    response = _import(accounts, text, "chat.jsonl")
    assert response.status_code == 201, response.text[:300]
    result = response.json()
    assert result["messages"] == 2 and len(result["warnings"]) == 2
    for fmt in ("md", "json", "jsonl"):
        exported = accounts.client.get(
            f"/api/conversations/{result['conversation_id']}/export?format={fmt}",
            headers=accounts.headers("alice"),
        )
        assert exported.status_code == 200, (fmt, exported.text[:300])


def test_an_impossible_timestamp_already_stored_does_not_break_exports(
    accounts: Accounts,
) -> None:
    """Rows imported before the check (or written by other tools) still export."""
    services, alice = accounts.services, accounts.ids["alice"]
    conv = services.chat.conversations.create(alice, "old import", created_at=2.0**80)
    for stamp in (2.0**80, float("inf"), -1e20):
        services.chat.messages.add(conv.id, alice, "user", "alice", f"at {stamp}", created_at=stamp)
    for fmt in ("md", "json", "jsonl"):
        response = accounts.client.get(
            f"/api/conversations/{conv.id}/export?format={fmt}", headers=accounts.headers("alice")
        )
        assert response.status_code == 200, (fmt, response.text[:300])
    listed = accounts.client.get(
        f"/api/conversations/{conv.id}/messages", headers=accounts.headers("alice")
    )
    assert listed.status_code == 200
    assert all(isinstance(Message.model_validate(m), Message) for m in listed.json()["items"])


def test_an_export_without_a_token_is_refused_not_crashed(accounts: Accounts) -> None:
    body = _refused(accounts.client.get("/api/personas/chatumba/export"), 401)
    assert body["error"] == "unauthorized"


def test_a_huge_blank_image_is_read_downscaled_within_a_pixel_budget(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    import media.ocr.tesseract_engine as engine_module

    seen: list[tuple[int, int]] = []
    real = engine_module.load_image

    def spy(data: bytes, **limits: Any) -> Any:
        picture = real(data, **limits)
        seen.append(picture.size)  # type: ignore[attr-defined]
        return picture

    monkeypatch.setattr(engine_module, "load_image", spy)
    png = io.BytesIO()
    Image.new("L", (6200, 6200), 255).save(png, format="PNG")
    response = accounts.client.post(
        "/api/ocr",
        files={"file": ("blank.png", png.getvalue(), "image/png")},
        headers=accounts.headers("alice"),
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["text"] == ""
    budget = accounts.services.settings.media.ocr.max_read_pixels
    assert seen and all(w * h <= budget for w, h in seen), (seen, budget)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_huge_photo_is_decoded_small(fmt: str) -> None:
    """A 6200x6200 page with something on it reaches the engine within the pixel budget,
    its aspect kept (a JPEG is decoded at a reduced size, never in full)."""
    from PIL import ImageDraw

    from media.config import OCRConfig
    from media.image_input import is_blank, load_image

    page = Image.new("L", (6200, 3100), 255)
    ImageDraw.Draw(page).text((300, 1400), "HELLO 4242", fill=0, font_size=400)
    data = io.BytesIO()
    page.save(data, format=fmt)
    config = OCRConfig()
    picture: Any = load_image(
        data.getvalue(),
        max_bytes=config.max_bytes,
        max_pixels=config.max_pixels,
        max_side=config.max_side,
        max_read_pixels=config.max_read_pixels,
    )
    width, height = picture.size
    assert width * height <= config.max_read_pixels
    assert abs(width / height - 2.0) < 0.01
    assert not is_blank(picture)


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/api/nonexistent", 404, None),
        ("GET", "/api/memory/a%2Fb", 404, None),  # an id holding "/" matches no route
        ("GET", "/api/chat", 405, "POST"),
        ("PATCH", "/api/memory/3", 405, "DELETE, GET, PUT"),
    ],
)
def test_an_unknown_api_path_or_method_answers_in_both_languages(
    accounts: Accounts, method: str, path: str, status: int, allow: str | None
) -> None:
    """Not the UI's bare `{"detail": "Not Found"}` (Gradio is mounted at `/`)."""
    response = accounts.client.request(method, path, headers=accounts.headers("alice"))
    _refused(response, status)
    assert response.headers.get("allow") == allow
