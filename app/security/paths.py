"""Join untrusted names (artifact ids, avatar files, import names) onto a root safely.

The names we hand out are generated (hashes, uuids), so anything unusual is refused rather
than normalised: percent-encoding at any depth, backslashes, drive letters, absolute paths,
`..` (also after Unicode NFKC folding, e.g. fullwidth dots), control characters. The final
check resolves symlinks and requires the result to stay under the resolved root, which also
catches a symlink inside the root that points out of it. (A symlink swapped in after this
check is out of scope: the roots are IKAR's own data folders.)
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Slash lookalikes that NFKC leaves alone but some tools and filesystems map to separators.
_SEPARATOR_LOOKALIKES = frozenset("\u2215\u2044\u29f8\u2216\u29f9\ufe68")


class UnsafePathError(ValueError):
    """The untrusted path would escape its root or is malformed."""


def _check_text(candidate: str, original: str) -> None:
    if "\\" in candidate or any(ch in _SEPARATOR_LOOKALIKES for ch in candidate):
        raise UnsafePathError(f"backslash in path: {original!r}")
    if candidate.startswith("/") or _DRIVE.match(candidate):
        raise UnsafePathError(f"absolute path: {original!r}")
    for segment in candidate.split("/"):
        # "..", "...", ". ." and friends: Windows strips trailing dots and spaces, so any
        # segment made only of dots and spaces (other than ".") is treated as traversal.
        if segment not in ("", ".") and segment.strip(". ") == "":
            raise UnsafePathError(f"path traversal: {original!r}")


def safe_join(root: Path, untrusted: str) -> Path:
    """`root / untrusted`, resolved, guaranteed to be strictly inside `root`.

    Raises UnsafePathError for anything that could escape `root` or is ambiguous.
    """
    if not untrusted or not untrusted.strip():
        raise UnsafePathError("empty path")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in untrusted):
        raise UnsafePathError(f"control character in path: {untrusted!r}")
    if "%" in untrusted and _PERCENT_ESCAPE.search(untrusted):
        # %2e%2e, %2f, %252e, %00 ...: never legitimate in our names; decoding layers differ
        # between proxies, frameworks and us, so refusing is the only safe reading.
        raise UnsafePathError(f"percent-encoded path: {untrusted!r}")
    _check_text(untrusted, untrusted)
    _check_text(unicodedata.normalize("NFKC", untrusted), untrusted)

    base = root.resolve()
    target = (base / untrusted).resolve()
    if target == base or not target.is_relative_to(base):
        raise UnsafePathError(f"path escapes its root: {untrusted!r}")
    return target
