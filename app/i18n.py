"""The one message catalogue for UI labels and error messages, in Russian and English.

Every tab and every API error goes through `t(key, lang)`. The texts live in `app/locales/`,
one module per area (core, soul, memory, media, admin), merged here into one catalogue.
Components register the keys they show so that switching the UI language relabels them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from app.locales import admin, core, media, memory, security, soul
from config.errors import MessageKey

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")

_MESSAGES: dict[str, tuple[str, str]] = {
    **core.MESSAGES,
    **soul.MESSAGES,
    **memory.MESSAGES,
    **media.MESSAGES,
    **admin.MESSAGES,
    **security.MESSAGES,
}

MESSAGES: Mapping[str, tuple[str, str]] = MappingProxyType(_MESSAGES)


def accepted_languages(accept_language: str | None) -> list[str]:
    """The language tags of an Accept-Language header, lower case, in the client's order
    ("ru-RU,en;q=0.8" -> ["ru-ru", "en"]); weights are not re-sorted (clients list in order)."""
    tags = (part.split(";", 1)[0].strip().lower() for part in (accept_language or "").split(","))
    return [tag for tag in tags if tag]


def normalize_lang(lang: str | None, default: Lang = "ru") -> Lang:
    if lang:
        short = lang.strip().lower()[:2]
        if short == "ru":
            return "ru"
        if short == "en":
            return "en"
    return default


def t(key: str, lang: str | None = "ru", **params: Any) -> str:
    """The message for `key` in `lang`; an unknown key comes back as itself (visible, not fatal).

    A parameter that is a `MessageKey` is translated too (unknown: its last part)."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[0] if normalize_lang(lang) == "ru" else pair[1]
    if params:
        params = {
            name: _nested(value, lang) if isinstance(value, MessageKey) else value
            for name, value in params.items()
        }
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _nested(key: MessageKey, lang: str | None) -> str:
    return t(key, lang) if key in MESSAGES else key.rsplit(".", 1)[-1]
