from pathlib import Path

import pytest

from config.settings import Settings, SettingsError, default_data_dir, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_env_prefix_sets_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IKAR_PORT", "7001")
    monkeypatch.setenv("IKAR_LANGUAGE", "en")
    settings = load_settings()
    assert settings.port == 7001
    assert settings.language == "en"


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IKAR_PORT", "not-a-port")
    with pytest.raises(SettingsError, match="IKAR_PORT"):
        load_settings()


def test_out_of_range_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IKAR_MAX_MESSAGE_CHARS", "0")
    with pytest.raises(SettingsError, match="IKAR_MAX_MESSAGE_CHARS"):
        load_settings()


def test_secrets_have_no_default_and_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IKAR_ADMIN_TOKEN", raising=False)
    assert Settings(_env_file=None).admin_token is None  # type: ignore[call-arg]
    monkeypatch.setenv("IKAR_ADMIN_TOKEN", "s3cret-value")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(settings)


def test_cors_wildcard_is_refused() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        Settings(_env_file=None, cors_origins=["*"])  # type: ignore[call-arg]


def test_data_dir_defaults_outside_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IKAR_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg-test")
    assert default_data_dir() == Path("/tmp/xdg-test/ikar")
    assert not default_data_dir().is_relative_to(REPO)


def test_config_file_is_read_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "ikar.toml"
    cfg.write_text('port = 7100\nlanguage = "en"\n')
    monkeypatch.delenv("IKAR_PORT", raising=False)
    assert load_settings(cfg).port == 7100
    monkeypatch.setenv("IKAR_LANGUAGE", "ru")
    assert load_settings(cfg).language == "ru"


def test_broken_config_file_gives_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text("port = [unclosed")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(cfg)
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml")
