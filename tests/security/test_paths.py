import os
from pathlib import Path

import pytest

from app.security.paths import UnsafePathError, safe_join


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "artifacts"
    (base / "sub").mkdir(parents=True)
    (base / "sub" / "a.png").write_bytes(b"x")
    (tmp_path / "outside.txt").write_text("secret")
    return base


@pytest.mark.parametrize(
    "name", ["a.png", "sub/a.png", "sub/new.wav", "./sub/a.png", "x..y", "...png"]
)
def test_ordinary_names_resolve_inside_root(root: Path, name: str) -> None:
    result = safe_join(root, name)
    assert result.is_relative_to(root.resolve())
    assert result == (root / name).resolve()


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../outside.txt",
        "sub/../../outside.txt",
        "sub/..",  # resolves to the root itself
        "%2e%2e/outside.txt",
        "%2E%2E/outside.txt",
        "%2e%2E%2foutside.txt",
        "..%2foutside.txt",
        "..%2Foutside.txt",
        "%252e%252e/outside.txt",
        "%25252e%25252e%25252f",
        "..\\outside.txt",
        "sub\\..\\..\\outside.txt",
        "/etc/passwd",
        "//etc/passwd",
        "C:\\Windows\\win.ini",
        "c:/windows/win.ini",
        "a.png\x00.txt",
        "a.png%00.txt",
        "sub/\n../x",
        "\uff0e\uff0e/outside.txt",  # fullwidth dots fold to ".." under NFKC
        "..\u2215outside.txt",  # division slash
        "... /x",
        ". ./x",
        "",
        "   ",
    ],
)
def test_traversal_attempts_are_rejected(root: Path, name: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_join(root, name)


def test_symlink_escaping_root_is_rejected(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside.txt", root / "link.txt")
    os.symlink(tmp_path, root / "linkdir")
    with pytest.raises(UnsafePathError, match="escapes"):
        safe_join(root, "link.txt")
    with pytest.raises(UnsafePathError, match="escapes"):
        safe_join(root, "linkdir/outside.txt")


def test_symlink_inside_root_is_allowed(root: Path) -> None:
    os.symlink(root / "sub" / "a.png", root / "alias.png")
    assert safe_join(root, "alias.png") == (root / "sub" / "a.png").resolve()


def test_root_given_through_symlink_still_works(root: Path, tmp_path: Path) -> None:
    os.symlink(root, tmp_path / "root-link")
    assert safe_join(tmp_path / "root-link", "sub/a.png") == (root / "sub" / "a.png").resolve()
