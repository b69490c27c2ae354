"""One admin-token setting under two names: IKAR_ADMIN_TOKEN and the seed's ADMIN_API_TOKEN."""

from pathlib import Path

import pytest

from config.settings import Settings, SettingsError, admin_token_conflict, load_settings

A = "a" * 20
B = "b" * 20


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IKAR_ADMIN_TOKEN", "ADMIN_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _token(settings: Settings) -> str | None:
    return settings.admin_token.get_secret_value() if settings.admin_token else None


def test_either_name_sets_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _token(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    monkeypatch.setenv("ADMIN_API_TOKEN", A)
    assert _token(Settings(_env_file=None)) == A  # type: ignore[call-arg]
    monkeypatch.delenv("ADMIN_API_TOKEN")
    monkeypatch.setenv("IKAR_ADMIN_TOKEN", B)
    assert _token(Settings(_env_file=None)) == B  # type: ignore[call-arg]


def test_ikar_name_wins_and_the_conflict_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IKAR_ADMIN_TOKEN", A)
    monkeypatch.setenv("ADMIN_API_TOKEN", B)
    assert _token(Settings(_env_file=None)) == A  # type: ignore[call-arg]
    warning = admin_token_conflict(None)
    assert warning is not None and "IKAR_ADMIN_TOKEN is used" in warning
    assert A not in warning and B not in warning  # never a secret in a log line
    monkeypatch.setenv("ADMIN_API_TOKEN", A)
    assert admin_token_conflict(None) is None  # same value twice is fine


def test_conflict_between_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"ADMIN_API_TOKEN={B}\n", encoding="utf-8")
    assert admin_token_conflict(env_file) is None
    monkeypatch.setenv("IKAR_ADMIN_TOKEN", A)
    assert admin_token_conflict(env_file) is not None


def test_dotenv_and_config_file_paths_keep_working(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"ADMIN_API_TOKEN={A}\n", encoding="utf-8")
    cfg = tmp_path / "ikar.toml"
    cfg.write_text("port = 7100\n", encoding="utf-8")
    settings = load_settings(cfg)
    assert settings.port == 7100 and _token(settings) == A
    assert A not in repr(settings)


def test_constructor_still_takes_the_field_name() -> None:
    settings = Settings(_env_file=None, admin_token=A)  # type: ignore[call-arg]
    assert _token(settings) == A


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "ikar.toml"
    cfg.write_text("admin_token = 5\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"ADMIN_TOKEN"):
        load_settings(cfg)
