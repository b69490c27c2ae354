"""Items 2 and 7: with accounts, every /api route needs a token, and stays closed when the
accounts are gone.

The walk covers the OpenAPI schema, so a route added later is checked by construction; only
the health probes (outside /api) answer without a token.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.composition import build_services
from app.factory import create_app
from app.security.users_auth import AccountsExistError
from tests.security.conftest import Accounts

PROBES = {"/health", "/health/live", "/health/ready"}


def _operations(client: TestClient) -> list[tuple[str, str]]:
    schema: dict[str, Any] = client.app.openapi()  # type: ignore[attr-defined]
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _concrete(path: str) -> str:
    """A path template with every parameter filled with a plausible value."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_route_refuses_a_request_without_a_token(accounts: Accounts) -> None:
    client = accounts.client
    operations = _operations(client)
    api = [(m, p) for m, p in operations if p.startswith("/api/")]
    assert len(api) >= 30  # the whole surface, not a sample
    for path in {p for _, p in operations} - {p for _, p in api}:
        assert path in PROBES | {"/metrics", "/downloads/{ticket}"}, path
    # a one-time download link is its own credential: an unknown ticket is nothing
    assert client.get("/downloads/not-a-ticket").status_code == 404
    answered = {}
    for method, path in api:
        response = client.request(method, _concrete(path))
        answered[f"{method} {path}"] = response.status_code
        body = response.json()
        assert body["messages"]["ru"] and body["messages"]["en"], (method, path, body)
    wrong = {op: status for op, status in answered.items() if status != 401}
    assert not wrong, wrong


def test_a_wrong_token_is_refused_alike(accounts: Accounts) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    for method, path in _operations(accounts.client):
        if path.startswith("/api/"):
            response = accounts.client.request(method, _concrete(path), headers=bad)
            assert response.status_code == 401, (method, path, response.status_code)


def test_the_probes_answer_without_a_token(accounts: Accounts) -> None:
    for path in ("/health", "/health/live", "/health/ready"):
        assert accounts.client.get(path).status_code in (200, 503), path


def test_persona_routes_with_a_token_work(accounts: Accounts) -> None:
    alice = accounts.headers("alice")
    listing = accounts.client.get("/api/personas", headers=alice)
    assert listing.status_code == 200
    for persona in listing.json()["items"]:  # names in Russian must not break the download
        for fmt in ("json", "png"):
            exported = accounts.client.get(
                f"/api/personas/{persona['id']}/export?format={fmt}", headers=alice
            )
            assert exported.status_code == 200, (persona["id"], fmt, exported.text[:200])
            assert "filename" in exported.headers["content-disposition"]
    assert accounts.client.get("/api/voices", headers=alice).status_code == 200


def test_deleting_every_account_closes_the_api_instead_of_opening_it(
    accounts: Accounts,
) -> None:
    client, services = accounts.client, accounts.services
    for user_id in accounts.ids.values():
        services.admin.delete_user(user_id)
    assert not services.users.list() or all(
        u.id not in accounts.ids.values() for u in services.users.list()
    )
    for method, path in [("GET", "/api/conversations"), ("POST", "/api/chat")]:
        response = client.request(method, path, json={"message": "hi"})
        assert response.status_code == 401, (method, path, response.status_code)

    # and after a restart on the same data, still closed (and still refusing to serve
    # exposed without a login rather than dropping the login)
    settings = accounts.settings.model_copy(update={"host": "0.0.0.0"})
    restarted = build_services(settings)
    try:
        with TestClient(create_app(settings, restarted)) as again:
            assert again.get("/api/conversations").status_code == 401
            assert again.post("/api/memory/search", json={"query": "x"}).status_code == 401
    finally:
        restarted.close()


def test_only_the_operator_reopens_local_mode_and_only_without_accounts(
    accounts: Accounts,
) -> None:
    auth = accounts.services.auth
    with pytest.raises(AccountsExistError):
        auth.open_local_mode()
    for user_id in accounts.ids.values():
        accounts.services.admin.delete_user(user_id)
    assert auth.users_configured()
    auth.open_local_mode()
    assert not auth.users_configured()
    assert accounts.client.get("/api/conversations").status_code == 200
