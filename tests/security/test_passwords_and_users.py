import asyncio
from pathlib import Path

import pytest

from app.security.exposure import ExposureError, exposure_check, is_loopback_host
from app.security.passwords import (
    PASSWORD_SCHEME,
    PasswordPolicyError,
    generate_api_token,
    hash_api_token,
    hash_password,
    verify_api_token,
    verify_password,
)
from app.security.users_auth import UserAuthenticator, UserExistsError
from app.storage.database import Database
from app.storage.schema import CORE_MIGRATIONS


def test_password_hash_roundtrip_and_salting() -> None:
    first = hash_password("correct horse", rounds=4)
    second = hash_password("correct horse", rounds=4)
    assert first.startswith(PASSWORD_SCHEME)
    assert first != second  # salted
    assert "correct horse" not in first
    assert verify_password("correct horse", first)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse ", first)


def test_passwords_longer_than_72_bytes_keep_every_byte() -> None:
    base = "я" * 40  # 80 bytes in UTF-8, past bcrypt's 72-byte limit
    stored = hash_password(base + "a", rounds=4)
    assert verify_password(base + "a", stored)
    assert not verify_password(base + "b", stored)  # the difference is past byte 72


def test_password_policy_and_garbage_hashes() -> None:
    with pytest.raises(PasswordPolicyError):
        hash_password("", rounds=4)
    with pytest.raises(PasswordPolicyError):
        hash_password("x" * 5000, rounds=4)
    assert not verify_password("x", None)
    assert not verify_password("x", "")
    assert not verify_password("x", "$2b$04$notreallyahash")
    assert not verify_password("x", PASSWORD_SCHEME + "garbage")


def test_api_token_hash_is_sha256_and_constant_time_verify() -> None:
    token = generate_api_token()
    assert token.startswith("ikar_") and len(token) > 40
    assert generate_api_token() != token
    stored = hash_api_token(token)
    assert len(stored) == 64 and token not in stored
    assert verify_api_token(token, stored)
    assert not verify_api_token(token[:-1], stored)
    assert not verify_api_token("", stored)
    assert not verify_api_token(token, None)


@pytest.fixture
def auth(tmp_path: Path) -> UserAuthenticator:
    db = Database(tmp_path / "ikar.db")
    db.migrate("core", CORE_MIGRATIONS)
    return UserAuthenticator(db, rounds=4)


def test_create_and_authenticate_user(auth: UserAuthenticator) -> None:
    assert not auth.users_configured()
    user_id = auth.create_user("Аня", "пароль-123", is_admin=True)
    assert auth.users_configured()
    assert auth.authenticate_password("Аня", "пароль-123") == user_id
    assert auth.authenticate_password("аня", "пароль-123") == user_id  # names ignore case
    assert auth.authenticate_password("Аня", "wrong") is None
    assert auth.authenticate_password("nobody", "пароль-123") is None
    assert asyncio.run(auth.gradio_auth("Аня", "пароль-123")) is True
    assert asyncio.run(auth.gradio_auth("Аня", "nope")) is False
    assert auth.is_admin(user_id)


def test_duplicate_user_names_are_refused(auth: UserAuthenticator) -> None:
    auth.create_user("bob", "pw-one")
    with pytest.raises(UserExistsError):
        auth.create_user("BOB ", "pw-two")


def test_set_password_replaces_old(auth: UserAuthenticator) -> None:
    user_id = auth.create_user("bob", "old-pw")
    auth.set_password(user_id, "new-pw")
    assert auth.authenticate_password("bob", "old-pw") is None
    assert auth.authenticate_password("bob", "new-pw") == user_id


def test_api_tokens_are_stored_hashed_and_rotate(auth: UserAuthenticator, tmp_path: Path) -> None:
    user_id = auth.create_user("bob", "pw")
    token = auth.issue_api_token(user_id)
    assert auth.user_for_api_token(token) == user_id
    assert auth.user_for_api_token(token + "x") is None
    assert auth.user_for_api_token("") is None
    assert auth.user_for_api_token(None) is None
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("ikar.db*"))
    assert token.encode() not in raw
    assert hash_api_token(token).encode() in raw
    rotated = auth.issue_api_token(user_id)
    assert auth.user_for_api_token(token) is None
    assert auth.user_for_api_token(rotated) == user_id
    auth.revoke_api_token(user_id)
    assert auth.user_for_api_token(rotated) is None


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]", "::ffff:127.0.0.1"]
)
def test_loopback_hosts_are_fine_without_users(host: str) -> None:
    assert is_loopback_host(host)
    exposure_check(host, share=False, users_configured=False)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.1", "example.com", "", "fe80::1"]
)
def test_exposed_hosts_need_users(host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(ExposureError, match="no user accounts"):
        exposure_check(host, share=False, users_configured=False)
    exposure_check(host, share=False, users_configured=True)


def test_share_link_needs_users_even_on_loopback() -> None:
    with pytest.raises(ExposureError, match="share"):
        exposure_check("127.0.0.1", share=True, users_configured=False)
    exposure_check("127.0.0.1", share=True, users_configured=True)
