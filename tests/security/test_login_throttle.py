"""Item 5: Gradio logins are throttled, like admin tokens.

Ten wrong passwords in three seconds used to be answered as fast as bcrypt allowed, and the
right one then worked. Now a client that keeps guessing is locked out for a while (even with
the right password), and an account guessed at from many addresses is locked out too.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.security.conftest import PASSWORDS, Accounts


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def _login(client: TestClient, name: str, password: str) -> Any:
    return client.post("/login", data={"username": name, "password": password})


def test_a_guessing_client_is_locked_out_even_with_the_right_password(
    accounts: Accounts,
) -> None:
    clock = FakeClock()
    accounts.services.login_throttle.clock = clock
    client = accounts.client
    assert _login(client, "alice", PASSWORDS["alice"]).status_code == 200
    statuses = [_login(client, "alice", f"guess-{i}").status_code for i in range(10)]
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}, statuses
    refused = _login(client, "alice", PASSWORDS["alice"])
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["error"] == "login_locked_out"
    assert body["messages"]["ru"] and body["messages"]["en"] and body["detail"]
    # other accounts from this client are refused too while it is locked out
    assert _login(client, "bob", PASSWORDS["bob"]).status_code == 429
    # and another client is not
    other = TestClient(client.app, client=("10.1.2.3", 4000))
    assert _login(other, "bob", PASSWORDS["bob"]).status_code == 200

    clock.now += accounts.settings.login_lockout_s + 1
    assert _login(client, "alice", PASSWORDS["alice"]).status_code == 200


def test_an_account_guessed_at_from_many_addresses_is_locked_out(accounts: Accounts) -> None:
    clock = FakeClock()
    accounts.services.login_throttle.clock = clock
    app = accounts.client.app
    for i in range(40):
        attacker = TestClient(app, client=(f"10.9.{i}.1", 5000))
        _login(attacker, "alice", f"guess-{i}")
    fresh = TestClient(app, client=("10.200.0.1", 5000))
    assert _login(fresh, "alice", PASSWORDS["alice"]).status_code == 429
    assert _login(fresh, "bob", PASSWORDS["bob"]).status_code == 200


def test_a_success_clears_the_clients_failures(accounts: Accounts) -> None:
    accounts.services.login_throttle.clock = FakeClock()
    client = accounts.client
    for _ in range(3):
        for i in range(4):
            assert _login(client, "bob", f"typo-{i}").status_code == 400
        assert _login(client, "bob", PASSWORDS["bob"]).status_code == 200
