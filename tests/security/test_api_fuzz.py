"""Fuzz every REST operation from the OpenAPI schema: no input may cause a 5xx.

The chat model is a scripted stand-in here (hundreds of generated requests would take the
real model hours on 2 cores); the real model answers the same routes in tests/app.
Speech, OCR, STT and the tiny diffusion pipeline are the real engines.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from app.factory import create_app
from app.services.models import ModelManager
from config.settings import Settings
from media.images.tiny_pipeline import save_tiny_pipeline
from models.profiles import load_profiles
from tests.app.fakes import ScriptedBackend


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    root = tmp_path_factory.mktemp("fuzz")
    tiny = save_tiny_pipeline(root / "tiny")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=root / "data",
        default_model="smollm2-135m",
        llm_preload=False,
        inner_life=False,
        chat_rate_per_min=1e9,
        heavy_rate_per_min=1e9,
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

    services = build_services(settings)
    backend = ScriptedBackend(words=["fine", " thanks"])
    services.models = ModelManager(
        load_profiles(settings.model_profiles_file),
        settings.default_model,
        settings.resolved_models_dir,
        backend_factory=lambda _: backend,
    )
    services.chat.models = services.models
    app = create_app(settings, services)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    services.close()


def _operations(schema) -> list:  # type: ignore[no-untyped-def]
    return [result.ok() for result in schema.get_all_operations()]


def _fuzzer(operation, calls: dict[str, int], failures: list[str]):  # type: ignore[no-untyped-def]
    key = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.data())
    def run(data) -> None:  # type: ignore[no-untyped-def]
        case = data.draw(operation.as_strategy())
        response = case.call()
        calls[key] = calls.get(key, 0) + 1
        if response.status_code == 503:  # an engine/model not available: not a crash
            assert response.json()["error"] in ("model_unavailable", "engine_unavailable")
            return
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:
            failures.append(f"{key}: {exc}")
            raise

    return run


def test_no_input_causes_a_server_error(fuzz_schema) -> None:  # type: ignore[no-untyped-def]
    """Up to 12 generated requests per operation (schemathesis strategies, hypothesis)."""
    failures: list[str] = []
    calls: dict[str, int] = {}
    operations = _operations(fuzz_schema)
    for operation in operations:
        try:
            _fuzzer(operation, calls, failures)()
        except Exception as exc:  # keep fuzzing the other routes; report all at the end
            key = f"{operation.method.upper()} {operation.path}"
            if not any(f.startswith(key + ":") for f in failures):
                failures.append(f"{key}: {exc!r}")
    assert not failures, "\n".join(failures[:10])
    assert len(calls) == len(operations), calls  # every operation was really exercised
    assert sum(calls.values()) >= 5 * len(calls)


def test_fuzz_covers_the_contract_routes(fuzz_schema) -> None:  # type: ignore[no-untyped-def]
    paths = {op.path for op in _operations(fuzz_schema)}
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
