"""Character Card V2/V3 import and export: round trips keep everything, bad files fail cleanly."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from app.soul.card_codec import CardLimits, card_to_json, card_to_png, parse_card
from app.soul.errors import CardError


def _png_with_text(chunks: dict[str, str], size: tuple[int, int] = (8, 8)) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _b64(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode()).decode()


def _png_text(data: bytes) -> dict[str, str]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return dict(image.text)


@pytest.mark.parametrize("fixture", ["card_v2", "card_v3"])
def test_json_round_trip_keeps_unknown_fields_and_extensions(fixture, request):
    raw = request.getfixturevalue(fixture)
    parsed = parse_card(json.dumps(raw, ensure_ascii=False).encode())
    again = parse_card(card_to_json(parsed.raw))
    assert again.raw == raw
    assert parsed.raw == raw


def test_v2_typed_view_and_ikar_settings(card_v2):
    parsed = parse_card(json.dumps(card_v2).encode())
    assert parsed.card.spec == "chara_card_v2"
    assert parsed.card.data.name == "Тестовый Кот"
    assert parsed.settings.baseline.reflection == 0.6
    assert parsed.settings.limits.max_aggression == 0.5
    assert parsed.raw["data"]["extensions"]["depth_prompt"] == {"prompt": "x", "depth": 4}
    assert parsed.raw["data"]["character_book"]["entries"][0]["x_entry_extra"] == 5


def test_v3_png_round_trip_writes_ccv3_and_a_v2_chara_chunk(card_v3):
    parsed = parse_card(json.dumps(card_v3).encode())
    png = card_to_png(parsed.raw, None, parsed.card.data.name)
    text = _png_text(png)
    assert json.loads(base64.b64decode(text["ccv3"])) == card_v3
    legacy = json.loads(base64.b64decode(text["chara"]))
    assert legacy["spec"] == "chara_card_v2"
    assert legacy["data"]["extensions"]["risu"] == {"x": 1}
    back = parse_card(png, "nova.png")
    assert back.raw == card_v3  # ccv3 wins over chara
    assert back.avatar_png is not None
    assert "ccv3" not in _png_text(back.avatar_png)  # stored avatar carries no stale card


def test_v2_png_round_trip_keeps_the_avatar_pixels(card_v2):
    avatar = io.BytesIO()
    Image.new("RGBA", (32, 16), (1, 2, 3, 255)).save(avatar, format="PNG")
    png = card_to_png(card_v2, avatar.getvalue(), "cat")
    back = parse_card(png)
    assert back.raw == card_v2
    with Image.open(io.BytesIO(back.avatar_png)) as image:
        assert image.size == (32, 16)
        assert image.convert("RGBA").getpixel((0, 0)) == (1, 2, 3, 255)


def test_png_card_written_by_another_tool_is_read(card_v2):
    png = _png_with_text({"chara": _b64(card_v2), "Software": "SillyTavern"})
    assert parse_card(png).card.data.name == "Тестовый Кот"


def _code(data: bytes, limits: CardLimits | None = None) -> str:
    with pytest.raises(CardError) as info:
        parse_card(data, "card", limits)
    assert info.value.message_en and info.value.message_ru
    return info.value.code


def test_bad_base64_in_png():
    assert _code(_png_with_text({"chara": "this is not base64!!"})) == "bad_base64"


def test_wrong_spec(card_v2):
    card_v2["spec"] = "chara_card_v9"
    assert _code(json.dumps(card_v2).encode()) == "wrong_spec"


def test_missing_fields(card_v2):
    del card_v2["data"]["first_mes"]
    assert _code(json.dumps(card_v2).encode()) == "missing_fields"


def test_gigantic_field_is_rejected(card_v2):
    card_v2["data"]["description"] = "я" * 100_001
    assert _code(json.dumps(card_v2).encode()) == "field_too_large"


def test_gigantic_card_is_rejected(card_v2):
    card_v2["data"]["extensions"]["blob"] = ["x" * 1000] * 3000
    assert _code(json.dumps(card_v2).encode()) == "card_too_large"
    small = CardLimits(max_card_bytes=1000)
    assert _code(_png_with_text({"chara": _b64(card_v2)}), small) == "card_too_large"


def test_png_without_card():
    assert _code(_png_with_text({"Comment": "hello"})) == "png_without_card"


def test_non_image_and_other_formats():
    assert _code(b"\xff\xd8\xff\xe0 jpeg bytes") == "unsupported_image"
    assert _code(b"just some text") == "unsupported_format"
    assert _code(b"") == "empty_file"
    assert _code(b"{not json") == "bad_json"
    assert _code(b"[1, 2]") == "unsupported_format"
    assert _code(b'"string"') == "unsupported_format"
    assert _code(b"\xff\xfe{\x00") == "bad_encoding"


def test_data_of_the_wrong_type_is_an_invalid_card():
    raw = b'{"spec": "chara_card_v2", "spec_version": "2.0", "data": []}'
    assert _code(raw) == "invalid_card"


def test_truncated_png(card_v2):
    png = _png_with_text({"chara": _b64(card_v2)}, size=(64, 64))
    for cut in (len(png) // 2, len(png) - 20, 30):
        assert _code(png[:cut]) == "broken_png"


def test_corrupted_png_body(card_v2):
    png = bytearray(_png_with_text({"chara": _b64(card_v2)}, size=(64, 64)))
    idat = png.index(b"IDAT")
    png[idat + 8 : idat + 40] = b"\x00" * 32
    assert _code(bytes(png)) == "broken_png"


def test_bad_ikar_settings(card_v2):
    card_v2["data"]["extensions"]["ikar"] = {"baseline": {"happiness": 7}}
    assert _code(json.dumps(card_v2).encode()) == "bad_ikar_settings"


def test_v1_card_is_upgraded_to_v2():
    v1 = {k: "x" for k in ("name", "description", "personality", "scenario", "first_mes")}
    v1["mes_example"] = ""
    v1["custom"] = 1
    parsed = parse_card(json.dumps(v1).encode())
    assert parsed.card.spec == "chara_card_v2"
    assert parsed.raw["data"]["custom"] == 1


def test_shipped_personas_are_valid_cards():
    from app.soul.manager import DEFAULT_PERSONAS_DIR

    files = sorted(DEFAULT_PERSONAS_DIR.glob("*.json"))
    names = {parse_card(f.read_bytes()).card.data.name for f in files}
    assert {"Чатумба", "Икар Икарыч", "Wren"} <= names
    for f in files:
        card = parse_card(f.read_bytes()).card
        assert card.data.character_book and len(card.data.character_book.entries) >= 3
        assert "<START>" in card.data.mes_example
