"""Speech, listening, reading images and drawing: thin routes over `MediaService`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from app.api.deps import get_services, resolve_user
from app.composition import Services
from app.i18n import both
from app.services.errors import NotFound, ServiceError
from media.errors import (
    EngineUnavailableError,
    JobCancelledError,
    JobTimeoutError,
    MediaError,
    MediaInputError,
    QueueFullError,
)
from media.images.base import ImageParams
from media.ocr.base import OCRResult
from media.stt.base import Transcript

router = APIRouter(prefix="/api", tags=["media"])

_STATUS: list[tuple[type[MediaError], int, str]] = [
    (MediaInputError, 400, "bad_media_input"),
    (EngineUnavailableError, 503, "engine_unavailable"),
    (QueueFullError, 429, "queue_full"),
    (JobTimeoutError, 504, "timeout"),
    (JobCancelledError, 409, "cancelled"),
]


def media_error_response(exc: MediaError) -> JSONResponse:
    status, code = next(
        ((s, c) for cls, s, c in _STATUS if isinstance(exc, cls)), (500, "media_error")
    )
    text = str(exc)
    messages = both(exc.key, **exc.params) if exc.key else {"en": text, "ru": text}
    return JSONResponse({"error": code, "message": text, "messages": messages}, status_code=status)


class TTSRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    voice: str | None = Field(default=None, max_length=200)


async def _read_upload(file: UploadFile, services: Services) -> bytes:
    limit = services.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ServiceError("error.file_too_large", status_code=413, limit=limit)
    return data


def _heavy(request: Request, services: Services, claimed: str | None = None) -> str:
    uid = resolve_user(request, claimed)
    services.heavy_limiter.check(uid)
    return uid


@router.post(
    "/tts",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}, "description": "WAV audio"}},
)
async def tts(
    body: TTSRequest, request: Request, services: Services = Depends(get_services)
) -> Response:
    _heavy(request, services)
    art = await services.media.tts(body.text, body.voice)
    return Response(
        art.data, media_type=art.media_type, headers={"X-Cache": "hit" if art.cached else "miss"}
    )


@router.get("/voices")
async def voices(services: Services = Depends(get_services)) -> list[dict[str, object]]:
    return [v.model_dump(mode="json", exclude={"path"}) for v in await services.media.voices()]


@router.post("/stt", response_model=Transcript)
async def stt(
    request: Request,
    file: UploadFile = File(description="Audio: WAV, MP3, OGG, WEBM, ..."),
    language: str | None = Form(default=None, max_length=8),
    services: Services = Depends(get_services),
) -> Transcript:
    _heavy(request, services)
    return await services.media.stt(await _read_upload(file, services), language)


@router.post("/ocr", response_model=OCRResult)
async def ocr(
    request: Request,
    file: UploadFile = File(description="An image (PNG, JPEG, WEBP, ...)"),
    services: Services = Depends(get_services),
) -> OCRResult:
    _heavy(request, services)
    return await services.media.ocr(await _read_upload(file, services))


@router.post(
    "/images",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "PNG image"}},
)
async def images(
    params: ImageParams, request: Request, services: Services = Depends(get_services)
) -> Response:
    _heavy(request, services)
    art = await services.media.generate_image(params)
    return Response(
        art.data,
        media_type="image/png",
        headers={
            "X-Seed": str(art.meta.get("seed", "")),
            "X-Cache": "hit" if art.cached else "miss",
        },
    )


@router.get("/artifacts/{key}", response_class=FileResponse)
async def artifact(
    key: str, request: Request, services: Services = Depends(get_services)
) -> FileResponse:
    """A generated file (speech, picture) referenced by one of the caller's messages."""
    uid = resolve_user(request, None)
    if not await services.db.run(services.chat.messages.owns_artifact, uid, key):
        raise NotFound("error.not_found")
    path = services.media.artifact_path(key)
    if path is None:
        raise NotFound("error.not_found")
    return FileResponse(path, media_type=services.media.cache.media_type(path))
