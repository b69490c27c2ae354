"""THE one place that makes PyPI's torchvision importable beside the CPU build of torch.

Why this exists: `torch==2.13.0` from PyPI is a CPU wheel on our machines, but the matching
`torchvision==0.28.0` is a CUDA build. Its C++ extension (`_C.so`) cannot load beside CPU
torch, torchvision then silently skips registering its operators, and its own
`_meta_registrations` module fails at import with
``RuntimeError: operator torchvision::nms does not exist``. That also breaks
`from transformers import CLIPTextModel` (transformers imports torchvision when present) and
`import easyocr`. Neither of them needs the compiled operators: easyocr only uses
torchvision's pure-Python parts, and the text-to-image pipeline never calls `nms`.

The fix: when (and only when) the extension does not load, define the schemas of the two
operators torchvision registers fake kernels for unconditionally (`nms`, `qnms`) with
``torch.library.Library("torchvision", "DEF")`` before torchvision is imported. The
`Library` object must stay alive (dropping it unregisters the schemas), so it is held by the
`TorchvisionCompat` object that a function-level cache keeps; calling `ensure_torchvision()`
again returns the same object. On a machine where torchvision matches torch (a CUDA box), the
extension loads, nothing is defined and nothing changes.

Every media engine that imports torch-based libraries calls `ensure_torchvision()` first.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The schemas torchvision's C++ extension would define (torchvision/csrc/ops/nms.cpp, qnms).
_MISSING_OPERATOR_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)


@dataclass(frozen=True)
class TorchvisionCompat:
    """The outcome of `ensure_torchvision()`; keep it alive, it owns the operator schemas."""

    torchvision_present: bool
    extension_loaded: bool
    shimmed: bool
    detail: str
    library: Any = None  # torch.library.Library holding the shimmed schemas, or None


@functools.cache
def ensure_torchvision() -> TorchvisionCompat:
    """Make `import torchvision` work (idempotent, thread-safe through the cache).

    Returns what was done; raises nothing for a missing torchvision (easyocr and diffusers
    then fail on their own with their own message).
    """
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return TorchvisionCompat(False, False, False, "torchvision is not installed")
    if "torchvision" in sys.modules:
        return TorchvisionCompat(True, True, False, "torchvision was already imported")

    package_dir = Path(next(iter(spec.submodule_search_locations)))
    extensions = sorted(package_dir.glob("_C.*")) or sorted(package_dir.glob("_C*.pyd"))
    error = "no _C extension file found"
    for path in extensions:
        try:
            torch.ops.load_library(str(path))
        except (OSError, ImportError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            continue
        return TorchvisionCompat(True, True, False, f"native operators loaded from {path.name}")

    library = torch.library.Library("torchvision", "DEF")
    for schema in _MISSING_OPERATOR_SCHEMAS:
        library.define(schema)
    detail = (
        f"torchvision's C++ operators do not load beside torch {torch.__version__} ({error}); "
        "defined nms/qnms schemas so its pure-Python parts import"
    )
    log.info(detail)
    return TorchvisionCompat(True, False, True, detail, library)


def verify_imports() -> dict[str, str]:
    """Import what the media engines need after the shim; maps name -> "ok" or the error.

    Slow (imports transformers and easyocr): for tests, diagnostics and install checks.
    """
    ensure_torchvision()
    results: dict[str, str] = {}
    for name, stmt in (
        ("torchvision", "import torchvision"),
        ("transformers.CLIPTextModel", "from transformers import CLIPTextModel"),
        ("easyocr", "import easyocr"),
    ):
        try:
            exec(stmt, {})  # noqa: S102 - fixed statements above, no user input
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"
        else:
            results[name] = "ok"
    return results


def cap_torch_threads(threads: int = 1) -> int:
    """Limit torch's intra-op threads; returns the previous value.

    Why: inside a server on a 2-core laptop, torch's default (all cores) fights the LLM and
    the web server; measured OCR went from 0.3 s to 13 s per image with 2 threads on a busy
    machine. torch's thread count is process-wide, so the composition root (or the first
    engine to load) sets it once from `MediaConfig.torch_threads`.
    """
    import torch

    previous = torch.get_num_threads()
    if threads != previous:
        torch.set_num_threads(max(1, int(threads)))
    return previous
