import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.api.errors import install_error_handlers
from app.security.admin_gate import AdminGate, require_admin, verify_admin_request
from app.security.errors import (
    AdminDisabledError,
    AdminLockedOutError,
    AdminUnauthorizedError,
)

TOKEN = "s3cret-Admin-Token-0123456789"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_gate(clock: FakeClock | None = None, **kwargs: float) -> AdminGate:
    return AdminGate(SecretStr(TOKEN), clock=clock or FakeClock(), **kwargs)  # type: ignore[arg-type]


def test_without_token_admin_is_disabled_never_open() -> None:
    gate = AdminGate(None)
    assert not gate.enabled
    with pytest.raises(AdminDisabledError):
        gate.check()
    with pytest.raises(AdminDisabledError):
        gate.verify(TOKEN, "1.2.3.4")
    with pytest.raises(AdminDisabledError):
        gate.verify(None, "1.2.3.4")


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_configured_token_means_disabled(blank: str) -> None:
    with pytest.raises(AdminDisabledError):
        AdminGate(SecretStr(blank)).verify(blank, "c")


def test_short_configured_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        AdminGate(SecretStr("short"))


def test_correct_token_is_accepted() -> None:
    make_gate().verify(TOKEN, "c")


@pytest.mark.parametrize(
    "presented",
    [
        "",
        None,
        TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y"),  # one char off
        TOKEN[:-1],  # prefix
        TOKEN + "0",  # suffix
        TOKEN.upper(),
        TOKEN.lower(),
        " " + TOKEN,
        TOKEN + " ",
        TOKEN + "\n",
        "a" * 1000,
        "токен",
    ],
)
def test_wrong_or_near_miss_tokens_are_rejected(presented: str | None) -> None:
    with pytest.raises(AdminUnauthorizedError):
        make_gate().verify(presented, "c")


def test_lockout_after_repeated_failures_and_recovery_after_time() -> None:
    clock = FakeClock()
    gate = make_gate(clock, lockout_after=3, lockout_window_s=60, lockout_s=120)
    for _ in range(3):
        with pytest.raises(AdminUnauthorizedError):
            gate.verify("wrong", "10.0.0.1")
    # Locked out even with the right token.
    with pytest.raises(AdminLockedOutError) as info:
        gate.verify(TOKEN, "10.0.0.1")
    assert info.value.retry_after == pytest.approx(120)
    # Other clients are unaffected.
    gate.verify(TOKEN, "10.0.0.2")
    clock.now += 119
    with pytest.raises(AdminLockedOutError) as info:
        gate.verify(TOKEN, "10.0.0.1")
    assert info.value.retry_after_header == "1"
    clock.now += 2
    gate.verify(TOKEN, "10.0.0.1")


def test_failures_outside_window_do_not_accumulate() -> None:
    clock = FakeClock()
    gate = make_gate(clock, lockout_after=3, lockout_window_s=60, lockout_s=120)
    for _ in range(10):
        with pytest.raises(AdminUnauthorizedError):
            gate.verify("wrong", "c")
        clock.now += 31  # at most 2 failures inside any 60 s window
    gate.verify(TOKEN, "c")


def test_success_resets_failure_count() -> None:
    gate = make_gate(lockout_after=3)
    for _ in range(2):
        with pytest.raises(AdminUnauthorizedError):
            gate.verify("wrong", "c")
    gate.verify(TOKEN, "c")
    for _ in range(2):
        with pytest.raises(AdminUnauthorizedError):
            gate.verify("wrong", "c")
    gate.verify(TOKEN, "c")


def test_missing_token_does_not_count_towards_lockout() -> None:
    gate = make_gate(lockout_after=2)
    for _ in range(10):
        with pytest.raises(AdminUnauthorizedError):
            gate.verify(None, "c")
    gate.verify(TOKEN, "c")


def build_app(gate: AdminGate, flat_errors: bool = True) -> TestClient:
    app = FastAPI()
    if flat_errors:
        install_error_handlers(app)

    @app.get("/admin/ping", dependencies=[Depends(require_admin(gate))])
    def ping() -> dict[str, bool]:
        return {"ok": True}

    return TestClient(app)


def test_http_disabled_is_403_json_with_localized_message() -> None:
    client = build_app(AdminGate(None))
    response = client.get("/admin/ping", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403
    assert response.json()["error"] == "admin_disabled"
    assert "disabled" in response.json()["message"]
    ru = client.get("/admin/ping", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert ru.status_code == 403
    assert "отключён" in ru.json()["message"]


def test_http_without_handler_still_has_right_status() -> None:
    response = build_app(AdminGate(None), flat_errors=False).get("/admin/ping")
    assert response.status_code == 403
    assert response.json()["detail"]["error"] == "admin_disabled"


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"Authorization": f"Bearer {TOKEN}"}, {}),
        ({"Authorization": f"bearer {TOKEN}"}, {}),
        ({"X-Admin-Token": TOKEN}, {}),
        ({}, {"token": TOKEN}),
    ],
)
def test_http_accepts_all_three_token_forms(
    headers: dict[str, str], params: dict[str, str]
) -> None:
    response = build_app(make_gate()).get("/admin/ping", headers=headers, params=params)
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({}, {}),
        ({"Authorization": f"Basic {TOKEN}"}, {}),
        ({"Authorization": "Bearer wrong-token"}, {}),
        ({"X-Admin-Token": TOKEN[:-1]}, {}),
        ({}, {"token": TOKEN.upper()}),
    ],
)
def test_http_missing_or_wrong_token_is_401(
    headers: dict[str, str], params: dict[str, str]
) -> None:
    response = build_app(make_gate()).get("/admin/ping", headers=headers, params=params)
    assert response.status_code == 401
    assert response.json()["error"] == "admin_unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_http_lockout_is_429_with_retry_after() -> None:
    client = build_app(make_gate(lockout_after=2, lockout_s=90))
    for _ in range(2):
        assert client.get("/admin/ping", params={"token": "nope"}).status_code == 401
    response = client.get("/admin/ping", params={"token": TOKEN})
    assert response.status_code == 429
    assert response.json()["error"] == "admin_locked_out"
    assert response.headers["retry-after"] == "90"


def test_gradio_callbacks_verify_typed_token_or_request_forms() -> None:
    gr = pytest.importorskip("gradio")
    gate = make_gate(lockout_after=2)
    queued = gr.Request(
        headers={"x-admin-token": TOKEN}, query_params={}, client={"host": "9.9.9.9"}
    )
    verify_admin_request(gate, queued)
    verify_admin_request(gate, gr.Request(headers={}, query_params={}, client={"host": "h"}), TOKEN)
    bearer = gr.Request(
        headers={"authorization": f"Bearer {TOKEN}"}, query_params={}, client={"host": "h"}
    )
    verify_admin_request(gate, bearer)
    verify_admin_request(gate, None, TOKEN)
    anonymous = gr.Request(headers={}, query_params={}, client={"host": "7.7.7.7"})
    with pytest.raises(AdminUnauthorizedError):
        verify_admin_request(gate, anonymous)
    for _ in range(2):
        with pytest.raises(AdminUnauthorizedError):
            verify_admin_request(gate, anonymous, "guess")
    with pytest.raises(AdminLockedOutError):
        verify_admin_request(gate, anonymous, TOKEN)
    verify_admin_request(gate, queued)  # the lockout is per client
