"""Fuzz every REST operation from the OpenAPI schema: no input may cause a 5xx.

Two parts, both walking the live schema (a new route is fuzzed without editing this file):
- the hostile values (`test_hostile_values_never_cause_a_server_error`): every JSON body
  field, query and path parameter and uploaded file gets each value of a fixed list of the
  classes that broke IKAR before (NUL, lone surrogates, control characters, huge strings,
  2**80, 1e400, NaN, a 5000-digit number, JSON nested 5000 deep, broken files). Explicit,
  so CI always tries them;
- generated requests (`test_no_input_causes_a_server_error`, schemathesis + hypothesis).
  In CI the generation is derandomized (the same examples every run: a failure is a real
  regression, never bad luck). `IKAR_FUZZ_EXAMPLES=500` explores: that many examples per
  operation from a fresh random seed, printed with any failure; `IKAR_FUZZ_SEED=<seed>`
  replays one run. See docs/security.md.

The chat model is a scripted stand-in here (hundreds of requests would take the real model
hours on 2 cores); the real model answers the same routes in tests/app. Speech, OCR, STT and
the tiny diffusion pipeline are the real engines. The admin token is sent with every
request, so the admin routes are fuzzed past their gate.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from app.composition import Services
from app.factory import create_app
from config.settings import Settings
from media.images.tiny_pipeline import save_tiny_pipeline
from tests.app.fakes import ScriptedBackend, use_scripted

ADMIN_TOKEN = "fuzz-Admin-Token-0123456789abcdef"
HEADERS = {"X-Admin-Token": ADMIN_TOKEN}
EXPLORE_EXAMPLES = int(os.environ.get("IKAR_FUZZ_EXAMPLES") or 0)
EXPLORE_SEED = os.environ.get("IKAR_FUZZ_SEED")
CI_EXAMPLES = 12
# Routes that would end the fuzzing app itself (restoring a backup swaps the database).
NOT_FUZZED = {("POST", "/api/admin/restore")}


@dataclass
class Fuzzed:
    app: FastAPI
    services: Services
    schema: Any  # schemathesis' schema
    client: TestClient


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    root = tmp_path_factory.mktemp("fuzz")
    tiny = save_tiny_pipeline(root / "tiny")
    app_settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=root / "data",
        default_model="smollm2-135m",
        llm_preload=False,
        inner_life=False,
        chat_rate_per_min=1e9,
        heavy_rate_per_min=1e9,
        admin_token=ADMIN_TOKEN,
        admin_lockout_after=1_000_000,
        media={
            "image": {
                "model": str(tiny),
                "device": "cpu",
                "default_width": 64,
                "default_height": 64,
                "default_steps": 1,
                "max_width": 128,
                "max_height": 128,
                "max_steps": 2,
            }
        },
    )
    from app.composition import build_services

    services = build_services(app_settings)
    backend = ScriptedBackend(words=["fine", " thanks"])
    use_scripted(services, backend)
    app = create_app(app_settings, services)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Fuzzed(app, services, schemathesis.openapi.from_asgi("/openapi.json", app), client)
    services.close()


def _operations(schema: Any) -> list[Any]:
    return [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if (op.method.upper(), op.path) not in NOT_FUZZED
    ]


def _not_a_crash(status: int, body: bytes, where: str) -> str | None:
    """Why this answer is a defect (a 5xx, or a 4xx without both languages), else None."""
    if status == 503:  # an engine or model that is not installed here: not a crash
        try:
            error = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            return f"{where}: 503 without an error body"
        if error in ("model_unavailable", "engine_unavailable"):
            return None
    if status >= 500:
        return f"{where}: {status} {body[:200]!r}"
    if status >= 400:
        try:
            messages = json.loads(body)["messages"]
        except (ValueError, KeyError, TypeError):
            return f"{where}: {status} without a bilingual error body: {body[:200]!r}"
        if not (messages.get("ru") and messages.get("en")):
            return f"{where}: {status} without both languages: {body[:200]!r}"
    return None


# -- generated requests (schemathesis) -----------------------------------------------------
def _generation_settings() -> tuple[settings, int | None]:
    """CI: derandomized, the same examples every run. Exploring: many, from a seed."""
    if EXPLORE_EXAMPLES <= 0 and EXPLORE_SEED is None:
        profile = settings(
            max_examples=CI_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        return profile, None
    chosen = int(EXPLORE_SEED) if EXPLORE_SEED is not None else random.randrange(2**32)
    profile = settings(
        max_examples=EXPLORE_EXAMPLES or CI_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    return profile, chosen


def _fuzzer(operation: Any, calls: dict[str, int], failures: list[str]) -> Any:
    key = f"{operation.method.upper()} {operation.path}"
    profile, chosen_seed = _generation_settings()

    @profile
    @given(st.data())
    def run(data: Any) -> None:
        case = data.draw(operation.as_strategy())
        response = case.call(headers=HEADERS)
        calls[key] = calls.get(key, 0) + 1
        if response.status_code == 503:
            assert _not_a_crash(503, response.content, key) is None, response.text[:200]
            return
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:
            failures.append(f"{key}: {exc}")
            raise

    return seed(chosen_seed)(run) if chosen_seed is not None else run


def test_no_input_causes_a_server_error(fuzzed: Fuzzed) -> None:
    """Generated requests per operation: 12 derandomized in CI, IKAR_FUZZ_EXAMPLES exploring."""
    failures: list[str] = []
    calls: dict[str, int] = {}
    operations = _operations(fuzzed.schema)
    for operation in operations:
        try:
            _fuzzer(operation, calls, failures)()
        except Exception as exc:  # keep fuzzing the other routes; report all at the end
            key = f"{operation.method.upper()} {operation.path}"
            if not any(f.startswith(key + ":") for f in failures):
                failures.append(f"{key}: {exc!r}")
    _, chosen_seed = _generation_settings()
    replay = f" (replay: IKAR_FUZZ_SEED={chosen_seed})" if chosen_seed is not None else ""
    assert not failures, replay + "\n" + "\n".join(failures[:10])
    assert len(calls) == len(operations), calls  # every operation was really exercised
    assert sum(calls.values()) >= 5 * len(calls)


def test_fuzz_covers_the_contract_routes(fuzzed: Fuzzed) -> None:
    paths = {op.path for op in _operations(fuzzed.schema)}
    for path in (
        "/api/chat",
        "/api/memory/search",
        "/api/personas",
        "/api/tts",
        "/api/ocr",
        "/api/soul/actions",
        "/api/conversations/import",
    ):
        assert path in paths


# -- the hostile values, always ------------------------------------------------------------
# JSON texts put where a field's value goes (so NaN, 1e400 and nesting arrive as sent).
HOSTILE_JSON = [
    '"\\u0000"',
    '"nul\\u0000inside"',
    '"\\ud800"',
    '"lone \\udfff half"',
    '"\\u001b[2J\\u0007"',
    '"' + "x" * 200_000 + '"',
    '""',
    '"../../../../etc/passwd"',
    str(2**80),
    str(-(2**80)),
    "1" * 5000,  # past Python's 4300-digit int limit
    "1e400",
    "-1e400",
    "NaN",
    "1.5",
    "true",
    "null",
    "[]",
    "{}",
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
]
# Raw (already percent-encoded) texts for query and path parameters.
HOSTILE_URL = [
    "%00",
    "a%00b",
    "%ED%A0%80",  # a UTF-8-encoded lone surrogate
    "%FF%FE",  # not UTF-8 at all
    "%1B%5B2J",
    "x" * 5000,
    "..%2F..%2Fetc%2Fpasswd",
    "-1",
    str(2**80),
    "1e400",
    "NaN",
    "%20",
]
# Files for every upload field.
HOSTILE_FILES: list[tuple[str, bytes]] = [
    ("empty.json", b""),
    ("nul.json", b"\x00" * 64),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000),
    ("deep.jsonl", b'{"user_name": "u"}\n' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    (
        "surrogate.json",
        b'{"format": "ikar.conversation", "version": 1, "messages":'
        b' [{"role": "user", "content": "\\ud800", "created_at": 1}]}',
    ),
    (
        "time.json",
        b'{"format": "ikar.conversation", "version": 1, "messages":'
        b' [{"role": "user", "content": "hi", "created_at": 1e400}]}',
    ),
    ("card.json", b'{"spec": "chara_card_v2", "data": {"name": "\\u0000\\ud800"}}'),
    ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
    ("bytes.wav", bytes(range(256)) * 8),
]


def _deref(node: Any, spec: dict[str, Any]) -> Any:
    """`node` with `$ref`s followed (within the document)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        target: Any = spec
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part]
        node, seen = target, seen + 1
    return node


def _baseline(node: Any, spec: dict[str, Any], depth: int = 0) -> Any:
    """A small valid value for a schema (required object fields only)."""
    node = _deref(node, spec)
    if not isinstance(node, dict) or depth > 6:
        return None
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in node:
            options = [_deref(o, spec) for o in node[combined]]
            usable = [o for o in options if o.get("type") != "null"] or options
            return _baseline(usable[0], spec, depth + 1)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    if "default" in node and node["default"] is not None:
        return node["default"]
    kind = node.get("type")
    if kind == "string":
        return "hello"[: node.get("maxLength", 5)].ljust(node.get("minLength", 1), "a")
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum", 0) + 1)
        high = node.get("maximum", node.get("exclusiveMaximum", low + 2) - 1)
        return min(max(1, low), high) if kind == "integer" else float(min(max(0.5, low), high))
    if kind == "boolean":
        return False
    if kind == "array":
        return [_baseline(node.get("items", {}), spec, depth + 1)] * node.get("minItems", 0)
    if kind == "object" or "properties" in node:
        required = set(node.get("required", []))
        return {
            name: _baseline(sub, spec, depth + 1)
            for name, sub in node.get("properties", {}).items()
            if name in required
        }
    return None


def _is_file(node: dict[str, Any]) -> bool:
    """An upload field (OpenAPI 3.0 says `format: binary`, 3.1 `contentMediaType`)."""
    return node.get("format") == "binary" or "contentMediaType" in node


def _url(path: str, params: dict[str, str]) -> str:
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    return path


def _requests(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, operation, httpx request arguments) for every hostile value in every slot."""
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if (method.upper(), path) in NOT_FUZZED:
                continue
            where = f"{method.upper()} {path}"
            params = [_deref(p, spec) for p in op.get("parameters", [])]
            path_values = {
                p["name"]: quote(str(_baseline(p.get("schema", {}), spec) or "x"), safe="")
                for p in params
                if p["in"] == "path"
            }
            query = {
                p["name"]: str(_baseline(p.get("schema", {}), spec))
                for p in params
                if p["in"] == "query" and p.get("required")
            }
            content = op.get("requestBody", {}).get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            form_schema = _deref(content.get("multipart/form-data", {}).get("schema"), spec)
            body = _baseline(json_schema, spec) if json_schema else None
            base: dict[str, Any] = {}
            if json_schema is not None:
                base["content"] = json.dumps(body).encode()
                base["headers"] = {"content-type": "application/json"}
            url = _url(path, path_values)
            for p in params:
                for value in HOSTILE_URL:
                    if p["in"] == "path":
                        bad = _url(path, {**path_values, p["name"]: value})
                        yield where, f"path {p['name']}={value[:20]}", {"url": bad, **base}
                    elif p["in"] == "query":
                        pairs = {**query, p["name"]: value}
                        raw = "&".join(f"{k}={v}" for k, v in pairs.items())
                        yield (
                            where,
                            f"query {p['name']}={value[:20]}",
                            {
                                "url": f"{url}?{raw}",
                                **base,
                            },
                        )
            if isinstance(body, dict):
                fields = _deref(json_schema, spec).get("properties", {})
                for name in fields:
                    for value in HOSTILE_JSON:
                        text = json.dumps({**body, name: "__HOSTILE__"}).replace(
                            '"__HOSTILE__"', value
                        )
                        yield (
                            where,
                            f"json {name}={value[:20]}",
                            {
                                "url": url,
                                "content": text.encode(),
                                "headers": {"content-type": "application/json"},
                            },
                        )
                for value in [*HOSTILE_JSON[-2:], "{", '"\\ud800"']:  # the body itself
                    yield (
                        where,
                        f"json body={value[:20]}",
                        {
                            "url": url,
                            "content": value.encode(),
                            "headers": {"content-type": "application/json"},
                        },
                    )
            if form_schema:
                props = form_schema.get("properties", {})
                files = [n for n, s in props.items() if _is_file(_deref(s, spec))]
                plain = {
                    n: str(_baseline(s, spec))
                    for n, s in props.items()
                    if n not in files and n in set(form_schema.get("required", []))
                }
                for name in files:
                    for filename, data in HOSTILE_FILES:
                        yield (
                            where,
                            f"file {name}={filename}",
                            {
                                "url": url,
                                "files": {name: (filename, data)},
                                "data": plain,
                            },
                        )
                for name in (n for n in props if n not in files):
                    for value in ("a\x00b", "\x1b[2J", "x" * 5000, "", "-1", str(2**80)):
                        upload = {f: ("x.json", b"{}") for f in files}
                        data = {**plain, name: value}
                        yield (
                            where,
                            f"form {name}={value[:20]}",
                            {
                                "url": url,
                                "files": upload,
                                "data": data,
                            },
                        )


def test_hostile_values_never_cause_a_server_error(fuzzed: Fuzzed) -> None:
    """Every slot of every operation, every hostile value: a 2xx or a bilingual 4xx."""
    spec = fuzzed.app.openapi()
    failures: list[str] = []
    tried: dict[str, int] = {}
    for where, slot, request in _requests(spec):
        method = where.split(" ", 1)[0]
        url = request.pop("url")
        headers = {**HEADERS, **request.pop("headers", {})}
        response = fuzzed.client.request(method, url, headers=headers, **request)
        tried[where] = tried.get(where, 0) + 1
        problem = _not_a_crash(response.status_code, response.content, f"{where} [{slot}]")
        if response.status_code < 500 and not response.url.path.startswith("/api/"):
            problem = None  # an encoded "/" led out of the API, to the UI's own 404
        if problem is not None:
            failures.append(problem)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:20])
    operations = {f"{op.method.upper()} {op.path}" for op in _operations(fuzzed.schema)}
    with_inputs = {w for w in operations if w in tried}
    assert len(with_inputs) >= 25, sorted(operations - with_inputs)  # the walk really ran
    assert sum(tried.values()) >= 500
    uploads = [w for w in tried if w.endswith(("/import", "/api/personas", "/api/ocr", "/stt"))]
    assert len(uploads) >= 4, uploads  # the files were really sent
