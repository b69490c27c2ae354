import hashlib
from pathlib import Path

import pytest

from models.errors import ModelUnavailableError
from models.packaged import PACKAGED_MODELS, PartsModel, assemble_parts, resolve_packaged


def _fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> bytes:
    """Part packages whose bytes are in numeric order, so a lexical join would be wrong."""
    pkg_root = tmp_path / "site"
    pkg_root.mkdir()
    blob = b""
    for i in range(1, count + 1):
        data = f"<part {i:02d}>".encode() * 100
        blob += data
        mod = pkg_root / f"fakepart{i}"
        mod.mkdir()
        (mod / "part.bin").write_bytes(data)
        (mod / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            "    return os.path.join(os.path.dirname(__file__), 'part.bin')\n"
        )
    monkeypatch.syspath_prepend(str(pkg_root))
    return blob


def test_parts_are_joined_in_numeric_order_and_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _fake_parts(tmp_path, monkeypatch, 11)
    spec = PartsModel("m.gguf", "fakepart", 11, len(blob), hashlib.sha256(blob).hexdigest(), "")
    out = assemble_parts(spec, tmp_path / "models")
    assert out.read_bytes() == blob
    assert not list((tmp_path / "models").glob("*.partial"))

    calls: list[float] = []
    again = assemble_parts(spec, tmp_path / "models", progress=lambda f, _: calls.append(f))
    assert again == out
    assert calls == []  # never assembled twice


def test_wrong_hash_leaves_no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _fake_parts(tmp_path, monkeypatch, 3)
    spec = PartsModel("m.gguf", "fakepart", 3, len(blob), "0" * 64, "")
    with pytest.raises(ModelUnavailableError, match="sha256"):
        assemble_parts(spec, tmp_path / "models")
    assert not (tmp_path / "models" / "m.gguf").exists()


def test_missing_part_package_says_how_to_install(tmp_path: Path) -> None:
    spec = PartsModel("m.gguf", "no_such_part_pkg_", 2, 10, "", "pip install the parts")
    with pytest.raises(ModelUnavailableError, match="pip install the parts"):
        assemble_parts(spec, tmp_path)


def test_unknown_packaged_model(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="unknown packaged model"):
        resolve_packaged("nope", tmp_path)


def test_smollm2_resolves_inside_its_wheel(tmp_path: Path) -> None:
    path = resolve_packaged("smollm2-135m", tmp_path)
    assert path.is_file() and path.stat().st_size > 50_000_000
    assert path.read_bytes()[:4] == b"GGUF"


@pytest.mark.slow
def test_bundled_qwen_assembles_to_the_published_hash(models_dir: Path) -> None:
    spec = PACKAGED_MODELS["qwen2.5-coder-1.5b"]
    assert isinstance(spec, PartsModel)
    path = resolve_packaged("qwen2.5-coder-1.5b", models_dir)
    assert path.stat().st_size == spec.size
    assert path.with_suffix(".verified").read_text().split()[1] == spec.sha256
