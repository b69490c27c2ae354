"""`Content-Disposition` for downloads whose names are not ASCII (a persona called «Чатумба»).

HTTP headers are Latin-1: a raw Cyrillic file name in one made the export answer 500. RFC 6266
sends an ASCII fallback in `filename` and the real name, percent-encoded UTF-8, in `filename*`.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ -]")


def attachment(name: str) -> dict[str, str]:
    """The header that offers `name` as a download, whatever its characters."""
    fallback = _UNSAFE_ASCII.sub("_", name).strip() or "download"
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return {"Content-Disposition": header}
