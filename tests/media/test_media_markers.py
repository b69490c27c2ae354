"""The marker parser: valid markers become requests, anything marker-like never reaches users."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from media.markers import (
    ImageRequest,
    SpeakRequest,
    hide_partial_marker,
    marker_instructions,
    parse_markers,
)

_LEFTOVER = re.compile(r"(SPEAK|IMAGE)[\s\u200b-\u200d\u2060\ufeff]*!")


def test_speak_marker_is_extracted_and_removed() -> None:
    text, reqs = parse_markers('Sure, here it is.\nSPEAK!{"text": "Hello there"}')
    assert text == "Sure, here it is."
    assert reqs == [SpeakRequest(text="Hello there")]


def test_image_marker_with_options_and_multiline_json() -> None:
    reply = (
        'Look:\nIMAGE! {\n "prompt": "a red fox", "width": 512, "height": 256,\n "seed": 7}\nNice?'
    )
    text, reqs = parse_markers(reply)
    assert text == "Look:\n\nNice?"
    assert reqs == [ImageRequest(prompt="a red fox", width=512, height=256, seed=7)]


def test_several_markers_keep_their_order() -> None:
    _, reqs = parse_markers('a SPEAK!{"text":"one"} b IMAGE!{"prompt":"two"} c SPEAK!{"text":"3"}')
    assert [r.kind for r in reqs] == ["speak", "image", "speak"]


def test_braces_inside_json_strings_do_not_end_the_marker() -> None:
    text, reqs = parse_markers('x SPEAK!{"text": "a } b { c"} y')
    assert reqs == [SpeakRequest(text="a } b { c")]
    assert text == "x  y"


def test_malformed_json_is_dropped_without_showing_the_marker() -> None:
    text, reqs = parse_markers("Hi! SPEAK!{text: 'no quotes'} bye")
    assert reqs == []
    assert text == "Hi!  bye"


def test_unclosed_marker_hides_the_rest_of_the_reply() -> None:
    text, reqs = parse_markers('Answer. IMAGE!{"prompt": "a cat, cut off')
    assert (text, reqs) == ("Answer.", [])


def test_bare_keyword_and_wrong_fields_are_removed() -> None:
    text, reqs = parse_markers('SPEAK! hello IMAGE!{"text": "no prompt"} SPEAK!["x"]')
    assert reqs == []
    assert "SPEAK" not in text and "IMAGE" not in text
    assert "hello" in text


def test_marker_inside_code_fence_leaves_no_empty_fence() -> None:
    text, reqs = parse_markers('Done.\n```json\nSPEAK!{"text": "hi"}\n```')
    assert text == "Done."
    assert len(reqs) == 1


def test_keyword_glued_from_pieces_is_removed_too() -> None:
    text, _ = parse_markers('SPESPEAK!{"text": "x"}AK!{"text": "y"}')
    assert "SPEAK" not in text


def test_zero_width_noise_between_keyword_and_bang() -> None:
    text, reqs = parse_markers('ok SPEAK\u200b!{"text": "hi"}')
    assert text == "ok" and reqs == [SpeakRequest(text="hi")]


def test_lowercase_word_speak_is_ordinary_text() -> None:
    assert parse_markers("Speak! I said speak!")[0] == "Speak! I said speak!"


def test_out_of_range_image_fields_make_the_request_invalid() -> None:
    _, reqs = parse_markers('IMAGE!{"prompt": "x", "width": 99999}')
    assert reqs == []


def test_hide_partial_marker_while_streaming() -> None:
    assert hide_partial_marker("Hello SPE") == "Hello"
    assert hide_partial_marker('Hello SPEAK!{"te') == "Hello"
    assert hide_partial_marker("Hello IMAGE") == "Hello"
    assert hide_partial_marker("Hello world") == "Hello world"


def test_instructions_exist_in_both_languages() -> None:
    for lang in ("en", "ru"):
        text = marker_instructions(lang)
        assert 'SPEAK!{"text"' in text and 'IMAGE!{"prompt"' in text
    assert "Ты" in marker_instructions("ru")
    assert marker_instructions("de") == marker_instructions("en")


_pieces = st.sampled_from(
    [
        "SPEAK!",
        "IMAGE!",
        "SPEAK",
        "!",
        "{",
        "}",
        '"',
        "\\",
        '{"text": "hi"}',
        '{"prompt": "p"}',
        "\u200b",
        "\ufeff",
        "\n",
        "```",
        "Привет",
        "ok",
        ":",
        ",",
    ]
)
_noisy = st.lists(st.one_of(_pieces, st.text(max_size=8)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(_noisy)
def test_parser_never_raises_and_never_leaves_markers(reply: str) -> None:
    text, reqs = parse_markers(reply)
    assert isinstance(text, str)
    assert _LEFTOVER.search(text) is None
    assert all(isinstance(r, SpeakRequest | ImageRequest) for r in reqs)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(min_size=1, max_size=50).filter(lambda s: s.strip()))
def test_valid_marker_roundtrips_after_any_text(prefix: str, words: str) -> None:
    import json

    reply = prefix + "\nSPEAK!" + json.dumps({"text": words})
    text, reqs = parse_markers(reply)
    assert _LEFTOVER.search(text) is None
    if _LEFTOVER.search(prefix) is None and "{" not in prefix:
        assert SpeakRequest(text=words.strip()) in reqs


@settings(max_examples=200, deadline=None)
@given(_noisy)
def test_streaming_view_never_shows_a_keyword(reply: str) -> None:
    shown = hide_partial_marker(reply)
    assert _LEFTOVER.search(shown) is None
