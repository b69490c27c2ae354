from pathlib import Path

import pytest

from config.settings import CONFIG_DIR
from models.profiles import ProfileError, load_profiles


def test_shipped_profiles_are_valid() -> None:
    profiles = load_profiles(CONFIG_DIR / "models.toml")
    assert {"qwen2.5-coder-1.5b", "smollm2-135m"} <= set(profiles)
    qwen = profiles["qwen2.5-coder-1.5b"]
    assert qwen.source == "packaged"
    assert qwen.max_tokens < qwen.n_ctx


def test_profile_missing_source_field_names_it(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[models.x]\nsource = "gguf"\n')
    with pytest.raises(ProfileError, match=r"'x'.*needs 'path'"):
        load_profiles(path)


def test_max_tokens_must_fit_context(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        '[models.x]\nsource = "gguf"\npath = "/a.gguf"\nn_ctx = 512\nmax_tokens = 600\n'
    )
    with pytest.raises(ProfileError, match="max_tokens"):
        load_profiles(path)


def test_unreadable_profiles_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not found"):
        load_profiles(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[models")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profiles(bad)
