"""CORS from an explicit allow-list.

IKAR's own UI is served from the same origin, so by default no cross-origin access is
granted (no middleware at all). A wildcard is refused: with credentials it would let any web
page the user visits drive their companion through the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware


class CorsConfigError(ValueError):
    """An origin in the allow-list is malformed or a wildcard."""


def normalize_origin(origin: str) -> str:
    """`scheme://host[:port]` in lower case, or CorsConfigError."""
    value = origin.strip()
    if "*" in value:
        raise CorsConfigError("wildcard CORS origins are not allowed; list origins explicitly")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CorsConfigError(f"CORS origin must look like https://host[:port], got {origin!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise CorsConfigError(f"CORS origin must not have a path or credentials: {origin!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def add_cors(app: Starlette, allowed_origins: Sequence[str] = ()) -> bool:
    """Add CORSMiddleware for exactly `allowed_origins`; return whether it was added.

    With an empty list nothing is added and browsers keep the same-origin policy.
    """
    origins = sorted({normalize_origin(o) for o in allowed_origins})
    if not origins:
        return False
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-Admin-Token"],
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
    return True
