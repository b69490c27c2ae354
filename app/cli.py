"""Start IKAR: `ikar [--host H] [--port P] [--share] [--config FILE]`.

The one entry point behind both the `ikar` console script (pip install .) and `launch.py`
(a checkout), so their flags and checks cannot drift apart.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="IKAR — local-first AI companion")
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 6666)")
    parser.add_argument("--share", action="store_true", help="also open a Gradio share link")
    parser.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    return parser.parse_args(argv)


def port_is_free(host: str, port: int) -> bool:
    """Whether uvicorn could bind `host:port` now.

    Bound as uvicorn binds, with SO_REUSEADDR: connections a crashed server left in
    TIME_WAIT do not block it (they did for about a minute), a listening socket still does.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Nothing leaves the machine: no Gradio telemetry, and no model-hub lookups unless the
    # user allowed a hub id for pictures (IKAR_MEDIA__IMAGE__ALLOW_NETWORK).
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from config.settings import SettingsError, load_settings

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = load_settings(args.config, **overrides)
    except SettingsError as exc:
        print(f"ikar: {exc}", file=sys.stderr)
        return 2
    if not settings.media.image.allow_network:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    use_private_gradio_folder(settings)
    report_config_warnings(settings)
    if not port_is_free(settings.host, settings.port):
        print(
            f"ikar: port {settings.port} on {settings.host} is busy "
            f"(another IKAR running?). Use --port.",
            file=sys.stderr,
        )
        return 2

    import uvicorn

    from app.factory import create_app
    from app.security.exposure import ExposureError
    from app.soul import SoulError
    from models.profiles import ProfileError

    try:
        app = create_app(settings, share=args.share)
    except (ProfileError, ExposureError, SoulError, ValueError, OSError) as exc:
        print(f"ikar: cannot start: {exc}", file=sys.stderr)
        return 2
    local = settings.host in ("127.0.0.1", "::1", "localhost")
    url = f"http://{'localhost' if local else settings.host}:{settings.port}"
    print(f"IKAR is running at {url}  (Ctrl+C to stop)", flush=True)
    if args.share:
        threading.Thread(target=open_share_tunnel, args=(settings.port,), daemon=True).start()
    # log_config=None keeps IKAR's JSON log handlers on uvicorn's loggers too.
    proxy_headers, forwarded_allow_ips = proxy_options(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    return 0


def proxy_options(settings: Settings) -> tuple[bool, list[str] | None]:
    """uvicorn's `proxy_headers` and `forwarded_allow_ips`: believed only from
    IKAR_TRUSTED_PROXIES.

    uvicorn's own default believes `X-Forwarded-For` from 127.0.0.1 (and reads
    FORWARDED_ALLOW_IPS), so a local client could claim a new address with every guess and
    never be locked out. With no proxy configured the peer address is the client.
    """
    if not settings.trusted_proxies:
        return False, None
    return True, list(settings.trusted_proxies)


def use_private_gradio_folder(settings: Settings) -> None:
    """Gradio keeps uploads and every file it shows in its folder, <tmp>/gradio by default:
    readable by every account on the machine. Point it at a 0700 folder of IKAR's cache
    (unless GRADIO_TEMP_DIR is set), before gradio is imported."""
    if os.environ.get("GRADIO_TEMP_DIR"):
        return
    folder = settings.resolved_cache_dir / "gradio"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)


def report_config_warnings(settings: Settings) -> None:
    """Say at start what would otherwise surface at the first chat or admin login."""
    from config.settings import admin_token_conflict
    from models.profiles import ProfileError, load_profiles, unset_api_keys

    warnings = []
    conflict = admin_token_conflict()
    if conflict:
        warnings.append(conflict)
    # A broken profiles file is create_app's to report (it refuses to start).
    with contextlib.suppress(ProfileError):
        warnings += unset_api_keys(load_profiles(settings.model_profiles_file))
    for line in warnings:
        print(f"ikar: warning: {line}", file=sys.stderr, flush=True)


def open_share_tunnel(port: int) -> None:
    """A public gradio.live link to this server. Needs internet; without it, say so and go on."""
    import secrets
    import time

    from gradio.networking import setup_tunnel

    time.sleep(2.0)  # let uvicorn bind first
    try:
        link = setup_tunnel("127.0.0.1", port, secrets.token_urlsafe(32), None, None)
    except Exception as exc:
        print(
            f"ikar: --share failed (no internet or no tunnel binary?): {exc}. "
            "The app keeps running locally.",
            file=sys.stderr,
            flush=True,
        )
        return
    print(f"Public link: {link}", flush=True)
