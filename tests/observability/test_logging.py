import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.observability.context import request_id_scope, run_in_context
from app.observability.logging import (
    MASK,
    JsonFormatter,
    LogBuffer,
    RedactingFilter,
    Redactor,
    configure_logging,
    is_sensitive_key,
    log_prompt,
)
from app.observability.middleware import RequestIdMiddleware

ADMIN = "adm-1n-T0ken-zzz-9999"
OPENAI = "sk-live-abcdef0123456789"
USER_PW = "hunter2-пароль"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, LogBuffer]]:
    stream = io.StringIO()
    buffer = LogBuffer(capacity=100)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("DEBUG", [SecretStr(ADMIN), OPENAI, "", "ab"], stream=stream, buffer=buffer)
    try:
        yield stream, buffer
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def lines(stream: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_logs_are_one_json_object_per_line(captured: tuple[io.StringIO, LogBuffer]) -> None:
    stream, _ = captured
    log = logging.getLogger("ikar.test")
    log.info("hello %s", "world", extra={"user_id": "u1", "turn": 3})
    log.warning("multi\nline\nmessage")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")
    records = lines(stream)
    assert len(records) == 3
    first = records[0]
    assert first["message"] == "hello world"
    assert first["level"] == "INFO"
    assert first["logger"] == "ikar.test"
    assert first["user_id"] == "u1" and first["turn"] == 3
    assert first["request_id"] is None
    assert first["timestamp"].endswith("+00:00")
    assert records[1]["message"] == "multi\nline\nmessage"
    assert "RuntimeError: boom" in records[2]["exc_info"]


def test_configured_secrets_never_reach_output(captured: tuple[io.StringIO, LogBuffer]) -> None:
    stream, buffer = captured
    log = logging.getLogger("ikar.leak")
    log.info("admin token is %s", ADMIN)
    log.info("calling with key " + OPENAI)
    log.info("GET /admin/logs?token=%s&level=INFO HTTP/1.1", "querysecret123")
    log.info("GET /api/x?api_key=anotherone42&x=1")
    log.info("headers", extra={"headers": {"Authorization": f"Bearer {ADMIN}", "Accept": "x"}})
    log.info(
        "raw",
        extra={
            "raw_headers": [
                (b"authorization", b"Bearer rawbearer77"),
                (b"x-admin-token", ADMIN.encode()),
            ]
        },
    )
    log.info(
        "login", extra={"password": USER_PW, "user": "bob", "settings": {"openai_api_key": OPENAI}}
    )
    log.info("form %s", {"name": "bob", "password": USER_PW})
    log.info('json body {"token": "jsonsecret55", "max_tokens": 256}')
    log.info("Authorization: Bearer headerbearer88")
    log.info("Authorization: Basic YmFzaWNzZWNyZXQ=")
    log.info("url http://host/cb?access_token=acc3ss&state=1")
    log.info("nested", extra={"data": {"level1": {"level2": [{"secret": "deep-s3cret"}]}}})
    log.info("object %r", type("Obj", (), {"__repr__": lambda self: f"Obj(key={OPENAI})"})())
    try:
        raise ValueError(f"bad token {ADMIN}")
    except ValueError:
        log.exception("oops")
    output = stream.getvalue() + json.dumps([e.model_dump() for e in buffer.tail(limit=100)])
    for secret in (
        ADMIN,
        OPENAI,
        USER_PW,
        "querysecret123",
        "anotherone42",
        "rawbearer77",
        "jsonsecret55",
        "headerbearer88",
        "YmFzaWNzZWNyZXQ=",
        "acc3ss",
        "deep-s3cret",
    ):
        assert secret not in output, secret
    assert MASK in output
    # Useful data survives redaction.
    assert '"user": "bob"' in output
    assert "level=INFO" in output
    assert "max_tokens" in output and "256" in output
    assert len(lines(stream)) == 15


def test_redacting_filter_masks_records_for_plain_text_handlers() -> None:
    redactor = Redactor([ADMIN])
    log = logging.getLogger("ikar.plain")
    log.propagate = False
    log.setLevel(logging.INFO)
    guarded = logging.StreamHandler(io.StringIO())
    guarded.addFilter(RedactingFilter(redactor))
    plain_stream = io.StringIO()
    plain = logging.StreamHandler(plain_stream)  # added later, no filter of its own
    plain.setFormatter(logging.Formatter("%(message)s|%(api_key)s"))
    log.addHandler(guarded)
    log.addHandler(plain)
    try:
        log.info("token %s", ADMIN, extra={"api_key": "k3y-value-1"})
    finally:
        log.removeHandler(guarded)
        log.removeHandler(plain)
        log.propagate = True
        log.setLevel(logging.NOTSET)
    assert plain_stream.getvalue() == f"token {MASK}|{MASK}\n"


def test_redactor_masks_text_and_values() -> None:
    redactor = Redactor([ADMIN])
    assert redactor.redact_text(f"x {ADMIN} y") == f"x {MASK} y"
    assert redactor.redact_value({"Authorization": "Bearer q", "n": 1, "ok": [True, None]}) == {
        "Authorization": MASK,
        "n": 1,
        "ok": [True, None],
    }
    assert redactor.redact_value(SecretStr("zzz")) == MASK


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("user_password", True),
        ("api_key", True),
        ("apiKey", True),
        ("X-Admin-Token", True),
        ("access_token", True),
        ("client_secret", True),
        ("Authorization", True),
        ("max_tokens", False),
        ("completion_tokens", False),
        ("tokens_per_second", False),
        ("user", False),
        ("keyboard", False),
    ],
)
def test_sensitive_key_names(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


def test_log_prompt_only_at_debug_and_truncated(captured: tuple[io.StringIO, LogBuffer]) -> None:
    stream, _ = captured
    log = logging.getLogger("ikar.prompts")
    prompt = "Мой секретный дневник. " * 100
    log.setLevel(logging.INFO)
    try:
        log_prompt(log, prompt)
        assert stream.getvalue() == ""
        log.setLevel(logging.DEBUG)
        log_prompt(log, prompt, max_chars=50)
    finally:
        log.setLevel(logging.NOTSET)
    (record,) = lines(stream)
    assert record["level"] == "DEBUG"
    assert record["prompt_chars"] == len(prompt)
    assert len(record["message"]) < 120
    assert prompt not in stream.getvalue()


def test_log_buffer_is_bounded_and_filters() -> None:
    buffer = LogBuffer(capacity=5)
    log = logging.getLogger("ikar.buffer")
    log.addHandler(buffer)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        for i in range(8):
            log.debug("debug %d", i)
        with request_id_scope("req-42"):
            logging.getLogger("ikar.buffer.models").warning("model Failed to load")
        log.error("disk full")
    finally:
        log.removeHandler(buffer)
        log.propagate = True
        log.setLevel(logging.NOTSET)
    everything = buffer.tail()
    assert len(everything) == 5  # bounded
    assert [e.message for e in everything][:3] == ["debug 5", "debug 6", "debug 7"]
    assert [e.message for e in buffer.tail(level="WARNING")] == [
        "model Failed to load",
        "disk full",
    ]
    assert [e.message for e in buffer.tail(level=logging.ERROR)] == ["disk full"]
    assert [e.logger for e in buffer.tail(logger="ikar.buffer.models")] == ["ikar.buffer.models"]
    assert len(buffer.tail(logger="ikar.buffer")) == 5  # children included
    assert buffer.tail(logger="ikar.buf") == []  # prefix must end at a dot
    assert [e.message for e in buffer.tail(text="FAILED")] == ["model Failed to load"]
    assert [e.request_id for e in buffer.tail(request_id="req-42")] == ["req-42"]
    assert [e.message for e in buffer.tail(limit=2)] == ["model Failed to load", "disk full"]
    assert buffer.loggers() == ["ikar.buffer", "ikar.buffer.models"]
    with pytest.raises(ValueError):
        buffer.tail(level="LOUD")


def test_request_id_flows_from_header_into_logs_and_threads(
    captured: tuple[io.StringIO, LogBuffer],
) -> None:
    stream, buffer = captured
    log = logging.getLogger("ikar.api")
    app = FastAPI()

    def blocking_work() -> None:
        log.info("in to_thread worker")

    def queued_job() -> None:
        log.info("in job queue thread")

    @app.get("/work")
    async def work() -> dict[str, bool]:
        log.info("in endpoint")
        await asyncio.to_thread(blocking_work)
        job = run_in_context(queued_job)  # what a job queue does at submit time
        thread = threading.Thread(target=job)
        thread.start()
        await asyncio.to_thread(thread.join)
        bare = threading.Thread(target=lambda: log.info("bare thread"))
        bare.start()
        await asyncio.to_thread(bare.join)
        return {"ok": True}

    client = TestClient(RequestIdMiddleware(app))
    response = client.get("/work", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    by_message = {r["message"]: r["request_id"] for r in lines(stream)}
    assert by_message["in endpoint"] == "abc-123"
    assert by_message["in to_thread worker"] == "abc-123"
    assert by_message["in job queue thread"] == "abc-123"
    assert by_message["bare thread"] is None  # plain threads need run_in_context
    assert {e.message for e in buffer.tail(request_id="abc-123")} == {
        "in endpoint",
        "in to_thread worker",
        "in job queue thread",
    }


def test_json_formatter_standalone_without_configure() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "password=%s", ("p4ssw0rd!",), None)
    record.password = "other"  # type: ignore[attr-defined]
    out = json.loads(JsonFormatter().format(record))
    assert out["message"] == f"password={MASK}"
    assert out["password"] == MASK
