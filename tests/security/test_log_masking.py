"""Item 14: a credential in a query string is masked in the logs however it is spelt.

`?%74oken=` is `?token=` to every server, so the access log must mask it after decoding; a
percent-encoded admin token is the admin token too.
"""

import io
import json
import logging

import pytest

from app.observability.logging import Redactor, configure_logging

SECRET = "s3cr3t-Value-0123456789"


@pytest.mark.parametrize(
    "query",
    [
        f"?token={SECRET}",
        f"?%74oken={SECRET}",
        f"?%74%6F%6B%65%6E={SECRET}",
        f"?TO%4BEN={SECRET}",
        f"?%2574oken={SECRET}",
        f"?x=1&api%5Fkey={SECRET}",
        f"?x=1;pass%77ord={SECRET}",
        f"?token=%73{SECRET[1:]}",
    ],
)
def test_sensitive_query_parameters_are_masked_after_decoding(query: str) -> None:
    line = f'127.0.0.1:5555 - "GET /api/admin/users{query} HTTP/1.1" 200'
    masked = Redactor().redact_text(line)
    assert SECRET not in masked and SECRET[1:] not in masked, masked
    assert "/api/admin/users" in masked and "200" in masked


def test_a_percent_encoded_secret_value_is_masked_anywhere() -> None:
    token = "adm1n/Token+with=odd&chars-0123"
    encoded = "adm1n%2FToken%2Bwith%3Dodd%26chars-0123"
    masked = Redactor([token]).redact_text(f"GET /x?anything={encoded} and {token}")
    assert token not in masked and encoded not in masked


def test_ordinary_percent_encoding_and_token_counts_stay_readable() -> None:
    redactor = Redactor()
    line = "GET /api/memory/search?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82&max_tokens=5"
    assert redactor.redact_text(line) == line


def test_the_access_log_masks_an_encoded_token() -> None:
    """Through the real handlers, as uvicorn's access logger writes a request line."""
    stream = io.StringIO()
    configure_logging("INFO", [SECRET], stream=stream)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:40000",
        "GET",
        f"/api/admin/config?%74oken={SECRET[:-3]}xyz",
        "1.1",
        401,
    )
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    message = next(line["message"] for line in lines if "/api/admin/config" in line["message"])
    assert SECRET[:-3] not in message, message
