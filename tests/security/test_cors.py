import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.security.cors import CorsConfigError, add_cors, normalize_origin


def app_with(origins: list[str]) -> TestClient:
    app = FastAPI()

    @app.get("/api/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    add_cors(app, origins)
    return TestClient(app)


def test_default_is_same_origin_only() -> None:
    client = app_with([])
    response = client.get("/api/ping", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/api/ping",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_allow_listed_origin_only() -> None:
    client = app_with(["https://My.App:8443/"])
    ok = client.get("/api/ping", headers={"Origin": "https://my.app:8443"})
    assert ok.headers["access-control-allow-origin"] == "https://my.app:8443"
    other = client.get("/api/ping", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "origin", ["*", "https://*.example.com", "example.com", "ftp://x", "https://x/path", ""]
)
def test_wildcards_and_malformed_origins_are_refused(origin: str) -> None:
    with pytest.raises(CorsConfigError):
        normalize_origin(origin)
    with pytest.raises(CorsConfigError):
        add_cors(FastAPI(), [origin])
