"""A screenshot tour: every tab, in Russian and English, at desktop and phone width.

    .venv/bin/python -m scripts.screenshots [--out docs/screenshots] [--model smollm2-135m]

Starts `launch.py` the way a user does, on a fresh temporary data folder and a free port,
sends one chat message so the chat shows a real reply (the model is the small SmolLM2 by
default: `--model` picks another profile), then drives Debian's chromium through every tab.
Saves `<lang>-<desktop|phone>-<tab>.png`. Look at them before calling a UI change done.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.i18n import t

REPO = Path(__file__).resolve().parents[1]

TABS = ("chat", "soul", "memory", "admin")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LANG_LABELS = {"ru": "Русский", "en": "English"}
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(data_dir: Path, port: int, model: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IKAR_")}
    env.update(
        {
            "IKAR_DATA_DIR": str(data_dir),
            "IKAR_DEFAULT_MODEL": model,
            "IKAR_LLM_PRELOAD": "false",
            "IKAR_INNER_LIFE": "false",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "launch.py", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"launch.py exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("launch.py did not start within 180 s")


def open_page(context: Any, url: str, viewport: dict[str, int], lang: str) -> Any:
    page = context.new_page()
    page.set_viewport_size(viewport)
    page.goto(url)
    page.wait_for_selector("#send:not([disabled])", timeout=120_000)
    page.get_by_label(LANG_LABELS[lang]).check()
    page.get_by_role("button", name=t("chat.send", lang)).wait_for(timeout=30_000)
    return page


def chat_once(page: Any, lang: str) -> None:
    """One real turn, so the chat shows a conversation (and the other tabs its traces)."""
    text = "Привет! Как дела?" if lang == "ru" else "Hello! How are you today?"
    page.fill("#chat-input textarea", text)
    page.click("#send")
    label = "() => document.querySelector('#send').innerText.trim() === "
    for _ in range(3):  # a busy machine can time the small model out: ask again
        page.wait_for_function(label + repr(t("chat.queue", lang)), timeout=60_000)  # started
        page.wait_for_function(label + repr(t("chat.send", lang)), timeout=900_000)  # ended
        chat = page.locator("#chatbot")
        failed = chat.get_by_text(t("chat.no_reply", lang)).count() or chat.get_by_text("⚠").count()
        if not failed:
            return
        page.click("#regenerate")


def tour(url: str, out: Path, chat_first: bool) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    saved: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        context = browser.new_context()  # one browser user: its conversation everywhere
        try:
            context_done = False
            for lang in ("ru", "en"):
                for form, viewport in WIDTHS.items():
                    page = open_page(context, url, viewport, lang)
                    if chat_first and not context_done:
                        chat_once(page, lang)
                        context_done = True
                        page.reload()
                        page.wait_for_selector("#send:not([disabled])", timeout=120_000)
                    for tab in TABS:
                        page.get_by_role("tab", name=t(f"tab.{tab}", lang)).click()
                        # the load, plots drawn, the model status's 3 s tick
                        page.wait_for_timeout(3500)
                        path = out / f"{lang}-{form}-{tab}.png"
                        page.screenshot(path=str(path), full_page=True)
                        saved.append(path)
                        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
                    page.close()
        finally:
            browser.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--model", default="smollm2-135m", help="model profile to chat with")
    parser.add_argument("--no-chat", action="store_true", help="skip the chat turn (faster)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ikar-screens-") as tmp:
        proc = launch(Path(tmp) / "data", port, args.model)
        try:
            tour(f"http://127.0.0.1:{port}/", args.out, chat_first=not args.no_chat)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
