"""Any other `/api/...` request: a bilingual 404 (or 405 with `Allow`), not the UI's reply.

Why: the Gradio UI is mounted at `/`, so without this route a path no API route matches
(`/api/nonexistent`, an id holding an encoded `/`, a wrong method) fell through to Gradio,
which answers `{"detail": "Not Found"}` with no message for people and no 405. Included
last, so every real route matches first.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

router = APIRouter(include_in_schema=False)

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/api/{rest:path}", methods=_METHODS)
async def unknown_api_route(request: Request, rest: str) -> None:
    """404 for an unknown path; 405 naming the allowed methods for a known one."""
    allowed: set[str] = set()
    for path, operations in request.app.openapi().get("paths", {}).items():  # cached
        if compile_path(path)[0].match(request.url.path):
            allowed |= {method.upper() for method in operations}
    if allowed:
        raise StarletteHTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
    raise StarletteHTTPException(404)
