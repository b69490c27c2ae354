"""Item 6: forwarded headers are believed only from configured proxies.

uvicorn trusts `X-Forwarded-For` from 127.0.0.1 by default, so an attacker on the same
machine (or behind any local proxy) could send a new address with each admin-token guess and
never be locked out. Checked on the real launcher, since the fix is how it runs uvicorn.
"""

from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.launched import Launched, launch_env

ADMIN_TOKEN = "forwarded-Admin-Token-0123456789"


def _guesses(url: str, n: int, forwarded: bool) -> list[int]:
    statuses = []
    for i in range(n):
        headers = {"X-Admin-Token": f"wrong-guess-{i:04d}-padding"}
        if forwarded:
            headers["X-Forwarded-For"] = f"203.0.113.{i + 1}"
        statuses.append(
            httpx.get(url + "/api/admin/users", headers=headers, timeout=30).status_code
        )
    return statuses


def test_a_new_forwarded_address_per_guess_does_not_dodge_the_lockout(tmp_path: Path) -> None:
    env = launch_env(tmp_path / "data", IKAR_ADMIN_TOKEN=ADMIN_TOKEN, IKAR_ADMIN_LOCKOUT_AFTER="3")
    with Launched(free_port(), env) as app:
        statuses = _guesses(app.url, 5, forwarded=True)
    assert statuses == [401, 401, 401, 429, 429], statuses


def test_a_configured_proxy_is_believed(tmp_path: Path) -> None:
    env = launch_env(
        tmp_path / "data",
        IKAR_ADMIN_TOKEN=ADMIN_TOKEN,
        IKAR_ADMIN_LOCKOUT_AFTER="3",
        IKAR_TRUSTED_PROXIES='["127.0.0.1"]',
    )
    with Launched(free_port(), env) as app:
        # each forwarded client is its own client: nobody is locked out by the others
        assert _guesses(app.url, 5, forwarded=True) == [401] * 5
        # and one forwarded client that keeps guessing is
        repeat = {"X-Admin-Token": "wrong-guess-again-padding", "X-Forwarded-For": "198.51.100.7"}
        statuses = [
            httpx.get(app.url + "/api/admin/users", headers=repeat, timeout=30).status_code
            for _ in range(4)
        ]
    assert statuses == [401, 401, 401, 429], statuses
