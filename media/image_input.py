"""Decode untrusted uploaded images safely: refuse before decoding, never crash.

Why: an upload may be a renamed PDF, a truncated JPEG, a 1x1 PNG that claims 100k x 100k
pixels (a decompression bomb: a few KB that expand to gigabytes), or zero bytes. Pillow reads
only the header in `Image.open`, so size and format are checked there, before `load()`
allocates anything. Every refusal is a `MediaInputError` with a message for the user.
"""

from __future__ import annotations

import io
import math
import warnings

from media.errors import MediaInputError

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"})


def load_image(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    max_side: int,
    max_read_pixels: int | None = None,
) -> object:
    """Return a decoded RGB `PIL.Image.Image`, downscaled so no side exceeds `max_side`
    and (when given) it has at most `max_read_pixels` pixels.

    Downscaling comes before the RGB conversion, and a JPEG is decoded at a reduced size
    (`draft`): a 6200x6200 scan costs a fraction of its full size in memory and time, and
    the engine reading it gets a picture of bounded size whatever was uploaded."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise MediaInputError("the image is empty (0 bytes)")
    if len(data) > max_bytes:
        raise MediaInputError(
            f"the image file is {len(data) / 1048576:.1f} MiB; the limit is "
            f"{max_bytes / 1048576:.0f} MiB"
        )
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its own limit; we check ourselves below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise MediaInputError("the image has too many pixels to process") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaInputError(
            "the upload is not an image in a supported format (PNG, JPEG, WebP, BMP, GIF, TIFF)"
        ) from exc
    if image.format not in ALLOWED_FORMATS:
        raise MediaInputError(
            f"image format {image.format or 'unknown'} is not supported; "
            "use PNG, JPEG, WebP, BMP, GIF or TIFF"
        )
    width, height = image.size
    if width <= 0 or height <= 0:
        raise MediaInputError("the image has zero width or height")
    if width * height > max_pixels:
        raise MediaInputError(
            f"the image is {width}x{height} pixels; the limit is {max_pixels / 1e6:.0f} megapixels"
        )
    target = _target_size(width, height, max_side, max_read_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if target != (width, height):
                image.draft("RGB", target)  # JPEG: decode at 1/2, 1/4 or 1/8 size
            image.load()  # decodes the first frame only
            picture: Image.Image = image
            if picture.mode not in ("L", "LA", "RGB", "RGBA"):
                picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
            if picture.size != target:
                picture = picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
            rgb = picture.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise MediaInputError("the image has too many pixels to process") from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        # Pillow says "image file is truncated" and similar; keep the detail short.
        raise MediaInputError(f"the image is damaged or truncated ({exc})"[:300]) from exc
    return rgb


def _target_size(
    width: int, height: int, max_side: int, max_read_pixels: int | None
) -> tuple[int, int]:
    """The largest size with the image's aspect ratio inside both limits."""
    scale = min(1.0, max_side / max(width, height))
    if max_read_pixels is not None and width * height * scale * scale > max_read_pixels:
        scale = math.sqrt(max_read_pixels / (width * height))
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def is_blank(picture: object) -> bool:
    """Whether the picture is one flat colour (nothing to read: engines can skip it)."""
    low, high = picture.convert("L").getextrema()  # type: ignore[attr-defined]
    return bool(low == high)


def is_image(data: bytes) -> bool:
    """Whether `data` opens as an image in an allowed format (the header and structure are
    checked; nothing is decoded): the chat refuses anything else before it is sent."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                allowed = image.format in ALLOWED_FORMATS
                image.verify()
    except Exception:  # Pillow raises many kinds for garbage
        return False
    return allowed
