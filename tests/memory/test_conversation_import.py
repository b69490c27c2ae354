"""Import parsers: IKAR, SillyTavern JSONL, plain lists; malformed files fail whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from memory import ImportFormatError, parse_conversation
from memory.conversation_import import parse_timestamp

ST_CHAT = "\n".join(
    json.dumps(x, ensure_ascii=False)
    for x in [
        {"user_name": "Ivan", "character_name": "Seraphina", "create_date": "2024-01-05@15h04m05s"},
        {
            "name": "Seraphina",
            "is_user": False,
            "send_date": "January 5, 2024 3:04pm",
            "mes": "Привет!",
        },
        {"name": "Ivan", "is_user": True, "send_date": "2024-01-05T15:05:00.000Z", "mes": "Hi"},
        {"name": "Seraphina", "is_user": False, "send_date": 1704467160000, "mes": "How are you?"},
        {
            "name": "Ivan",
            "is_user": True,
            "send_date": "2024-01-05 @15h 07m 01s 5ms",
            "mes": "Fine",
        },
        {"name": "Seraphina", "is_user": False, "send_date": "garbled", "mes": "Good."},
    ]
)


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_sillytavern_jsonl_with_mixed_dates() -> None:
    conv = parse_conversation(ST_CHAT.encode())
    assert conv.source_format == "sillytavern" and conv.character_name == "Seraphina"
    assert [m.role for m in conv.messages] == [
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert conv.messages[0].content == "Привет!" and conv.messages[0].created_at == _utc(
        2024, 1, 5, 15, 4
    )
    assert conv.messages[1].created_at == _utc(2024, 1, 5, 15, 5)
    assert conv.messages[2].created_at == _utc(2024, 1, 5, 15, 6)
    assert conv.messages[3].created_at == pytest.approx(_utc(2024, 1, 5, 15, 7, 1) + 0.005)
    assert conv.messages[4].created_at == conv.messages[3].created_at + 1  # estimated
    assert len(conv.warnings) == 1 and "garbled" in conv.warnings[0]


def test_plain_list_and_ikar_detection() -> None:
    plain = [
        {"speaker": "Me", "text": "hello", "timestamp": "2023-05-01T10:00:00"},
        {"speaker": "Bot", "text": "hi", "timestamp": 1682935260},
    ]
    conv = parse_conversation(json.dumps(plain).encode())
    assert conv.source_format == "plain" and [m.role for m in conv.messages] == [
        "user",
        "assistant",
    ]
    assert conv.messages[1].created_at == 1682935260
    ikar = {
        "format": "ikar.conversation",
        "version": 1,
        "conversation": {"title": "T"},
        "messages": [{"role": "user", "content": "x", "created_at": "2024-02-02T00:00:00+00:00"}],
    }
    assert parse_conversation(json.dumps(ikar).encode(), "auto").source_format == "ikar"


def test_timestamp_shapes() -> None:
    assert parse_timestamp("2024-03-05") == _utc(2024, 3, 5)
    assert parse_timestamp("05.03.2024 10:30") == _utc(2024, 3, 5, 10, 30)
    assert parse_timestamp("March 5, 2024 at 10:30 AM") == _utc(2024, 3, 5, 10, 30)
    assert parse_timestamp("1709634600") == 1709634600
    assert parse_timestamp("nonsense") is None and parse_timestamp(True) is None


@pytest.mark.parametrize(
    ("data", "fmt", "code"),
    [
        (b"", "auto", "empty"),
        (b"\xff\xfe\x00garbage", "auto", "bad_encoding"),
        (b"<html>nope</html>", "auto", "unknown_format"),
        (b'{"format": "ikar.conversation", "version": 1, "messages": [', "auto", "invalid_json"),
        (b'{"format": "other"}', "auto", "unknown_format"),
        (b'{"format": "ikar.conversation", "version": 2, "messages": []}', "ikar", "bad_value"),
        (b'[{"speaker": "a", "text": "b"}]', "plain", "missing_field"),
        (b'[{"speaker": "a", "text": "b", "timestamp": "when?"}]', "plain", "bad_value"),
        (b'{"user_name": "x"}\n{"name": "a", "mes": "hi"}', "sillytavern", "missing_field"),
        (
            b'{"user_name": "x"}\n{"name": "a", "is_user": true, "mes": "hi"}\n{broken',
            "auto",
            "invalid_json",
        ),
        (b'[{"speaker": "a", "text": "b", "timestamp": 1}]', "ikar", "unknown_format"),
        (
            b'{"format":"ikar.conversation","version":1,"messages":[{"role":"robot","content":"x","created_at":1}]}',
            "ikar",
            "bad_value",
        ),
    ],
)
def test_malformed_imports_raise_clear_errors(data: bytes, fmt: str, code: str) -> None:
    with pytest.raises(ImportFormatError) as err:
        parse_conversation(data, fmt)  # type: ignore[arg-type]
    assert err.value.code == code and str(err.value)


def test_files_over_the_limit_are_refused_before_parsing() -> None:
    with pytest.raises(ImportFormatError) as err:
        parse_conversation(b"[" + b" " * 2048 + b"]", max_bytes=1024)
    assert err.value.code == "too_large"
