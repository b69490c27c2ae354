"""Every failure becomes a JSON body with a code and a message in both languages.

Never a traceback page: unexpected exceptions are logged with their request id and the client
gets a generic 500 body.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import both
from app.services.errors import ServiceError, describe_failure
from models.errors import LLMError

log = logging.getLogger(__name__)


def error_body(code: str, key: str, /, **params: object) -> dict[str, object]:
    messages = both(key, **params)
    return {"error": code, "message": messages["en"], "messages": messages}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        code = exc.key.removeprefix("error.")
        return JSONResponse(error_body(code, exc.key, **exc.params), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )[:1000]
        body = error_body("invalid_request", "error.invalid_request", detail=detail)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict):
            return JSONResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
        code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
        body = {"error": code, "message": str(exc.detail), "messages": {"en": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(LLMError)
    async def _llm(_: Request, exc: LLMError) -> JSONResponse:
        report = describe_failure(exc)
        body = error_body(report.code, report.key, detail=str(exc))
        return JSONResponse(body, status_code=report.status)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal", "error.internal"), status_code=500)
