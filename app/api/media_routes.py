"""Speech, listening, reading images and drawing: thin routes over `MediaService`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import Field

from app.api.deps import authenticated, get_services, resolve_user
from app.api.uploads import read_upload
from app.composition import Services
from app.services.errors import NotFound
from config.validation import CleanInput
from media.images.base import ImageParams
from media.ocr.base import OCRResult
from media.stt.base import Transcript

router = APIRouter(prefix="/api", tags=["media"], dependencies=[Depends(authenticated)])


class TTSRequest(CleanInput):
    text: str = Field(min_length=1, max_length=4000)
    voice: str | None = Field(default=None, max_length=200)


@router.post(
    "/tts",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}, "description": "WAV audio"}},
)
async def tts(
    body: TTSRequest, request: Request, services: Services = Depends(get_services)
) -> Response:
    uid = resolve_user(request, None)
    art = await services.media.tts(body.text, body.voice, owner=uid)
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
    uid = resolve_user(request, None)
    data = await read_upload(file, services.settings.max_upload_bytes)
    return await services.media.stt(data, language, owner=uid)


@router.post("/ocr", response_model=OCRResult)
async def ocr(
    request: Request,
    file: UploadFile = File(description="An image (PNG, JPEG, WEBP, ...)"),
    services: Services = Depends(get_services),
) -> OCRResult:
    uid = resolve_user(request, None)
    data = await read_upload(file, services.settings.max_upload_bytes)
    return await services.media.ocr(data, owner=uid)


class ImageBody(CleanInput, ImageParams):
    """`ImageParams` as a client sends them: text checked like every request body (the
    engine's own `ImageParams` also carries prompts the model wrote)."""


@router.post(
    "/images",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "PNG image"}},
)
async def images(
    params: ImageBody, request: Request, services: Services = Depends(get_services)
) -> Response:
    uid = resolve_user(request, None)
    art = await services.media.generate_image(params, owner=uid)
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
    """A generated file (speech, picture) made for the caller.

    Ownership is the exact key recorded when the artifact was made for the user (chat
    replies included), never a match on message text an importer could choose."""
    uid = resolve_user(request, None)
    if not await services.media.owns_artifact(uid, key):
        raise NotFound("error.not_found")
    path = services.media.artifact_path(key)
    if path is None:
        raise NotFound("error.not_found")
    return FileResponse(path, media_type=services.media.cache.media_type(path))
