"""Speech, listening, reading images and drawing: thin routes over `MediaService`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from app.api.deps import authenticated, get_services, resolve_user
from app.api.uploads import read_upload
from app.composition import Services
from app.services.errors import NotFound
from app.services.media_turns import speak_as_persona
from config.validation import CleanInput
from media.images.base import ImageParams
from media.language import normalize_language
from media.ocr.base import OCRResult
from media.stt.base import Transcript

router = APIRouter(prefix="/api", tags=["media"], dependencies=[Depends(authenticated)])


class TTSRequest(CleanInput):
    text: str = Field(min_length=1, max_length=4000)
    voice: str | None = Field(default=None, max_length=200)
    language: Literal["ru", "en", "auto"] | None = Field(
        default=None,
        description="The text's language when its letters do not say (digits, emoji); "
        "auto/none: the letters decide, else the configured default. A named voice wins.",
    )
    persona: str | None = Field(
        default=None,
        max_length=128,
        description="Speak as this persona (a reply read aloud): its voice when installed "
        "and of the text's language, else the text's language's; `voice` still wins.",
    )


class VoiceOut(BaseModel):
    """A voice a client can name: `language` as its files give it (en_US, ru), `lang` the
    two-letter code routing uses."""

    id: str
    engine: str
    language: str | None
    lang: str | None
    sample_rate: int
    bundled: bool


@router.post(
    "/tts",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}, "description": "WAV audio"}},
)
async def tts(
    body: TTSRequest, request: Request, services: Services = Depends(get_services)
) -> Response:
    uid = resolve_user(request, None)
    language = None if body.language == "auto" else body.language
    if body.persona and not body.voice:
        persona = await services.soul.persona_for_async(uid, body.persona)
        art = await speak_as_persona(
            services.media,
            body.text,
            voice=persona.settings.voice,
            persona_language=language or persona.language,
            owner=uid,
        )
    else:
        art = await services.media.tts(body.text, body.voice, language=language, owner=uid)
    headers = {
        "X-Cache": "hit" if art.cached else "miss",
        "X-Voice": str(art.meta.get("voice") or ""),
        "X-Language": str(art.meta.get("language") or ""),
    }
    return Response(art.data, media_type=art.media_type, headers=headers)


@router.get("/voices", response_model=list[VoiceOut])
async def voices(
    language: Literal["ru", "en"] | None = Query(
        default=None, description="Only the voices of this language."
    ),
    services: Services = Depends(get_services),
) -> list[VoiceOut]:
    return [
        VoiceOut(**v.model_dump(exclude={"path"}), lang=normalize_language(v.language))
        for v in await services.media.voices(language)
    ]


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
