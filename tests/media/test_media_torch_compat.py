"""torchvision beside CPU torch: the shim is idempotent and the dependent imports work."""

from __future__ import annotations

import subprocess
import sys

import pytest

from media.torch_compat import cap_torch_threads, ensure_torchvision

pytestmark = pytest.mark.slow


def test_shim_is_idempotent_and_kept_alive() -> None:
    first = ensure_torchvision()
    assert ensure_torchvision() is first
    assert first.torchvision_present
    if first.shimmed:
        assert first.library is not None


def test_imports_work_in_a_fresh_process() -> None:
    code = (
        "from media.torch_compat import verify_imports; r = verify_imports(); "
        "print(r); assert set(r.values()) == {'ok'}, r"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]


def test_torch_threads_are_capped() -> None:
    import torch

    previous = cap_torch_threads(1)
    assert torch.get_num_threads() == 1
    cap_torch_threads(previous)
