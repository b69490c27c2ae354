"""Reading and writing Character Cards as JSON files and PNG images (tEXt `chara` / `ccv3`).

Why all-or-nothing: `parse_card` either returns a fully validated card or raises `CardError`;
the caller stores nothing before it returns, so a bad file can never be half-imported.
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import json
import struct
import warnings
import zlib
from typing import Any, Literal

from PIL import Image, PngImagePlugin
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.soul.avatar import render_avatar
from app.soul.card import SPEC_V2, SPEC_V3, CharacterCard
from app.soul.errors import CardError
from app.soul.persona_settings import IkarSoulSettings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CardFormat = Literal["json", "png"]
_V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
_OTHER_IMAGES = (b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_MAX_DEPTH = 64


class CardLimits(BaseModel):
    """Size limits that keep a hostile or broken file from eating memory or the database."""

    model_config = ConfigDict(frozen=True)

    max_file_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_card_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    max_field_chars: int = Field(default=100_000, gt=0)
    max_image_pixels: int = Field(default=4096 * 4096, gt=0)
    max_avatar_side: int = Field(default=1024, gt=0)


class ParsedCard(BaseModel):
    """A validated card: the raw dict to store, its typed view, settings, and a clean avatar."""

    raw: dict[str, Any]
    card: CharacterCard
    settings: IkarSoulSettings
    avatar_png: bytes | None = None


def parse_card(
    data: bytes, filename: str | None = None, limits: CardLimits | None = None
) -> ParsedCard:
    """Parse JSON or PNG card bytes; raise `CardError` with a clear code on any problem."""
    limits = limits or CardLimits()
    if len(data) > limits.max_file_bytes:
        raise CardError("file_too_large", limit=limits.max_file_bytes)
    if not data.strip():
        raise CardError("empty_file")
    if data.startswith(PNG_SIGNATURE):
        raw_text, avatar = _read_png(data, limits)
        raw = _load_json(raw_text, limits)
        return validate_card(raw, limits, avatar_png=avatar)
    if data.startswith(_OTHER_IMAGES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        raise CardError("unsupported_image")
    text = _decode_text(data)
    if text.lstrip().startswith("{"):
        return validate_card(_load_json(text, limits), limits)
    hint = f" ({filename})" if filename else ""
    raise CardError("unsupported_format", hint=hint)


def validate_card(
    raw: Any, limits: CardLimits | None = None, avatar_png: bytes | None = None
) -> ParsedCard:
    """Check a decoded card dict (spec, required fields, sizes, IKAR settings)."""
    limits = limits or CardLimits()
    if not isinstance(raw, dict):
        raise CardError("not_an_object")
    if "spec" not in raw and all(k in raw for k in _V1_FIELDS):
        raw = _upgrade_v1(raw)
    spec = raw.get("spec")
    if spec not in (SPEC_V2, SPEC_V3):
        raise CardError("wrong_spec", spec=repr(spec))
    _check_sizes(raw, limits)
    try:
        card = CharacterCard.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        missing = any(err["type"] == "missing" for err in exc.errors())
        raise CardError("missing_fields" if missing else "invalid_card", problems=problems) from exc
    ikar = card.data.extensions.get("ikar", {})
    try:
        settings = IkarSoulSettings.model_validate(ikar if ikar is not None else {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise CardError("bad_ikar_settings", problems=problems) from exc
    return ParsedCard(raw=raw, card=card, settings=settings, avatar_png=avatar_png)


def card_to_json(raw: dict[str, Any]) -> bytes:
    """The card as pretty UTF-8 JSON (Cyrillic kept readable)."""
    return json.dumps(raw, ensure_ascii=False, indent=2).encode("utf-8")


def card_to_png(raw: dict[str, Any], avatar_png: bytes | None, name: str) -> bytes:
    """The avatar (or a rendered one) with the card in tEXt chunks.

    A V3 card is written as `ccv3` and, for older readers, also as a V2 `chara` chunk.
    """
    source = avatar_png or render_avatar(name)
    with Image.open(io.BytesIO(source)) as image:
        image.load()
        info = PngImagePlugin.PngInfo()
        if raw.get("spec") == SPEC_V3:
            info.add_text("ccv3", _b64_json(raw))
            info.add_text("chara", _b64_json(downgrade_to_v2(raw)))
        else:
            info.add_text("chara", _b64_json(raw))
        out = io.BytesIO()
        image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def downgrade_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """A V2 view of a V3 card: V2 readers ignore the extra V3 fields in `data`."""
    v2 = copy.deepcopy(raw)
    v2["spec"] = SPEC_V2
    v2["spec_version"] = "2.0"
    return v2


def _b64_json(raw: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(raw, ensure_ascii=False).encode("utf-8")).decode("ascii")


def _read_png(data: bytes, limits: CardLimits) -> tuple[str, bytes]:
    """Decode the whole PNG (so truncation is caught) and return (card JSON text, clean PNG)."""
    _check_png_chunks(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "PNG":
                    raise CardError("unsupported_image")
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise CardError(
                        "image_too_large",
                        width=width,
                        height=height,
                        limit=limits.max_image_pixels,
                    )
                image.load()
                text: dict[str, Any] = dict(getattr(image, "text", {}) or {})
                avatar = _clean_avatar(image, limits)
    except CardError:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        MemoryError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise _broken(str(exc)) from exc
    chunk = text.get("ccv3") or text.get("chara")
    if not chunk:
        raise CardError("png_without_card")
    payload = "".join(str(chunk).split())
    if len(payload) > limits.max_card_bytes * 4 // 3 + 8:
        raise _too_large(limits)
    try:
        decoded = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CardError("bad_base64") from exc
    return _decode_text(decoded), avatar


def normalize_avatar(data: bytes, limits: CardLimits | None = None) -> bytes:
    """Validate an uploaded avatar image (any format Pillow reads) and return a clean PNG."""
    limits = limits or CardLimits()
    if len(data) > limits.max_file_bytes:
        raise CardError("file_too_large", limit=limits.max_file_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise CardError(
                        "image_too_large",
                        width=width,
                        height=height,
                        limit=limits.max_image_pixels,
                    )
                image.load()
                return _clean_avatar(image, limits)
    except CardError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise CardError("bad_image", reason=str(exc)) from exc


def _check_png_chunks(data: bytes) -> None:
    """Walk the chunk list: every CRC must match and IEND must be there.

    Pillow tolerates a missing tail (it stops once the pixels decode), but a file cut short
    or damaged in transit should be reported, not silently half-read.
    """
    offset = len(PNG_SIGNATURE)
    while True:
        if offset + 12 > len(data):
            raise _broken("the file ends before the IEND chunk")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise _broken(f"chunk {kind!r} is cut short")
        body = data[offset + 4 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : end])
        if zlib.crc32(body) & 0xFFFFFFFF != crc:
            raise _broken(f"chunk {kind!r} has a bad checksum")
        if kind == b"IEND":
            return
        offset = end


def _broken(reason: str) -> CardError:
    return CardError("broken_png", reason=reason)


def _clean_avatar(image: Image.Image, limits: CardLimits) -> bytes:
    """Re-encode without text chunks (the card is re-embedded on export) and cap the size."""
    clean = image.convert("RGBA") if image.mode not in ("RGB", "RGBA") else image.copy()
    clean.thumbnail((limits.max_avatar_side, limits.max_avatar_side))
    out = io.BytesIO()
    clean.save(out, format="PNG")
    return out.getvalue()


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CardError("bad_encoding") from exc


def _load_json(text: str, limits: CardLimits) -> Any:
    if len(text.encode("utf-8")) > limits.max_card_bytes:
        raise _too_large(limits)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise CardError("bad_json", reason=str(exc)) from exc


def _too_large(limits: CardLimits) -> CardError:
    return CardError("card_too_large", limit=limits.max_card_bytes)


def _check_sizes(value: Any, limits: CardLimits, path: str = "", depth: int = 0) -> None:
    """Reject any string longer than the field limit, and absurd nesting."""
    if depth > _MAX_DEPTH:
        raise CardError("card_too_deep", path=path)
    if isinstance(value, str):
        if len(value) > limits.max_field_chars:
            raise CardError(
                "field_too_large", path=path, length=len(value), limit=limits.max_field_chars
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_sizes(item, limits, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_sizes(item, limits, f"{path}[{index}]", depth + 1)


def _upgrade_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """Wrap a V1 card (flat fields, no spec) as V2; its other fields stay in `data`."""
    data = copy.deepcopy(raw)
    data.setdefault("extensions", {})
    return {"spec": SPEC_V2, "spec_version": "2.0", "data": data}
