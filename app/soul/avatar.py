"""A default avatar for personas that have none, so every persona can export as a PNG card.

Why an identicon and not a letter: Pillow's bundled font may lack Cyrillic glyphs, and a
symmetric pattern derived from a stable hash of the name looks the same on every machine.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw

AVATAR_SIZE = 256
_GRID = 5


def render_avatar(name: str, size: int = AVATAR_SIZE) -> bytes:
    """A deterministic PNG (RGB, size x size) for `name`: same name, same bytes."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    hue = digest[0] / 255.0
    fg = _hsv_to_rgb(hue, 0.55, 0.85)
    bg = _hsv_to_rgb((hue + 0.5) % 1.0, 0.15, 0.97)
    image = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(image)
    cell = size // (_GRID + 1)
    offset = (size - cell * _GRID) // 2
    bit = 0
    for row in range(_GRID):
        for col in range((_GRID + 1) // 2):
            on = (digest[1 + bit // 8] >> (bit % 8)) & 1
            bit += 1
            if not on:
                continue
            for c in {col, _GRID - 1 - col}:  # mirror for a face-like symmetry
                x0, y0 = offset + c * cell, offset + row * cell
                draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=fg)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)
