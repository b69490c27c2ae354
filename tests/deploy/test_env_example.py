"""Every variable .env.example offers is one IKAR (or docker-compose.yml) actually reads."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from config.settings import ADMIN_TOKEN_NAMES, Settings

REPO = Path(__file__).resolve().parents[2]


def _is_setting(name: str) -> bool:
    if name in ADMIN_TOKEN_NAMES:
        return True
    model: type[BaseModel] = Settings
    parts = name.removeprefix("IKAR_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if i < len(parts) - 1:
            inner = field.annotation
            if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
                return False
            model = inner
    return True


def test_every_sample_variable_is_read() -> None:
    sample = (REPO / ".env.example").read_text(encoding="utf-8")
    compose = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    names = re.findall(r"^# ?([A-Z][A-Z0-9_]*)=", sample, re.MULTILINE)
    assert "IKAR_ADMIN_TOKEN" in names and "IKAR_DEFAULT_MODEL" in names
    unknown = [n for n in names if not _is_setting(n) and f"${{{n}" not in compose]
    assert not unknown, f"not read by Settings or docker-compose.yml: {unknown}"
    # Compose v1 keeps an inline "# comment" as part of an unquoted value: own lines only.
    assert not re.search(r"^[A-Z_]+=\S*\s+#", sample.replace("# ", ""), re.MULTILINE)
