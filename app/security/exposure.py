"""Refuse to serve on a network without user authentication.

IKAR holds private conversations and memories. Listening on anything but loopback, or
opening a Gradio share link, without login would hand them to anyone on the network, so the
launcher calls `exposure_check` before starting and stops with a clear message instead.
"""

from __future__ import annotations

import ipaddress


class ExposureError(RuntimeError):
    """The app would be reachable from other machines without user authentication."""


def is_loopback_host(host: str) -> bool:
    """Whether `host` only accepts connections from this machine.

    127.0.0.0/8, ::1 and `localhost` are loopback; 0.0.0.0 and :: mean "every interface";
    any other name may resolve to a public address, so it counts as exposed.
    """
    value = host.strip().lower()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if value in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def exposure_check(host: str, share: bool, users_configured: bool) -> None:
    """Raise `ExposureError` if the server would be exposed without user authentication."""
    if users_configured:
        return
    if share:
        raise ExposureError(
            "Refusing to start: a Gradio share link makes IKAR reachable from the internet, "
            "but no user accounts are configured. Create a user first, or run without --share."
            " / Запуск отменён: ссылка share открывает IKAR в интернет, а пользователи не "
            "настроены. Создайте пользователя или запустите без --share."
        )
    if not is_loopback_host(host):
        raise ExposureError(
            f"Refusing to start: host {host!r} makes IKAR reachable from other machines, but "
            "no user accounts are configured. Create a user first, or bind to 127.0.0.1."
            f" / Запуск отменён: адрес {host!r} открывает IKAR другим компьютерам, а "
            "пользователи не настроены. Создайте пользователя или используйте 127.0.0.1."
        )
