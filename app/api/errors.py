"""The one REST error handler: every failure becomes `{"error", "message", "messages"}`.

Any `IkarError` (config/errors.py) answers with its own status, code and message in both
languages; `message` is in the client's language (Accept-Language: Russian, else English).
Never a traceback page: unexpected exceptions are logged with their request id and the client
gets a generic 500 body.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import error_body
from app.services.errors import ServiceError
from config.errors import IkarError
from config.validation import invalid_text_from

log = logging.getLogger(__name__)


def error_response(exc: IkarError, request: Request | None = None) -> JSONResponse:
    """The JSON response for `exc` (the body every error has, its status and headers)."""
    lang = request.headers.get("accept-language") if request is not None else None
    return JSONResponse(
        error_body(exc, lang), status_code=exc.status_code, headers=exc.headers() or None
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IkarError)
    async def _ikar(request: Request, exc: IkarError) -> JSONResponse:
        return error_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A string with a NUL or a lone surrogate (config/validation.py) has its own message.
        invalid_text = invalid_text_from(list(exc.errors()))
        if invalid_text is not None:
            return error_response(invalid_text, request)
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )[:1000]
        return error_response(ServiceError("error.invalid_request", 422, detail=detail), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # An `ErrorHTTPException` (raised by dependencies) already holds the error body.
        if isinstance(exc.detail, dict):
            return JSONResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
        # The framework's own refusals: unknown route, wrong method.
        status = exc.status_code
        error = (
            ServiceError("error.not_found", 404)
            if status == 404
            else ServiceError("error.http", status, detail=str(exc.detail), status=status)
        )
        if status != 404:
            error.code = f"http_{status}"
        response = error_response(error, request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(IkarError(), request)
