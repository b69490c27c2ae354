"""Password hashing (bcrypt) and API-token hashing (sha256).

bcrypt only reads the first 72 bytes of a password, and bcrypt 5 raises ValueError beyond
that instead of truncating. We pre-hash: bcrypt(base64(sha256(password))). Why: long
passphrases (and Cyrillic ones, 2 bytes a letter, hit 72 bytes at 36 letters) keep all their
entropy instead of being rejected or silently cut; base64 avoids NUL bytes, which bcrypt
would treat as the end of the input. Stored hashes carry a scheme prefix so a future scheme
can be told apart and rehashed on login.

API tokens are random (256 bits), so a fast unsalted sha256 is enough to store them: nobody
can brute-force a random 256-bit token from its hash, and a hash lets us find the user
without storing the token itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import bcrypt

PASSWORD_SCHEME = "bcrypt-sha256$"  # noqa: S105 (a format prefix)
API_TOKEN_PREFIX = "ikar_"  # noqa: S105 (a format prefix)
DEFAULT_ROUNDS = 12
MAX_PASSWORD_CHARS = 1024  # bounds the work an attacker can make us do per attempt


class PasswordPolicyError(ValueError):
    """The password cannot be accepted (empty, or absurdly long)."""


def _prehash(password: str) -> bytes:
    if not password:
        raise PasswordPolicyError("password must not be empty")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordPolicyError(f"password is longer than {MAX_PASSWORD_CHARS} characters")
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int = DEFAULT_ROUNDS) -> str:
    """A salted bcrypt hash of the password, as text for the `users.password_hash` column."""
    hashed = bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=rounds))
    return PASSWORD_SCHEME + hashed.decode("ascii")


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored` (constant-time inside bcrypt). Never raises."""
    if not stored or not stored.startswith(PASSWORD_SCHEME):
        return False
    try:
        candidate = _prehash(password)
        return bcrypt.checkpw(candidate, stored[len(PASSWORD_SCHEME) :].encode("ascii"))
    except (PasswordPolicyError, ValueError, UnicodeEncodeError):
        return False


def generate_api_token() -> str:
    """A new random API token; show it to the user once, store only `hash_api_token` of it."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    """The sha256 hex digest stored in `users.api_token_hash`."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def verify_api_token(token: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    if not token or not stored_hash:
        return False
    return hmac.compare_digest(hash_api_token(token).encode(), stored_hash.encode())
