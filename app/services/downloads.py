"""One-time download links for files only an admin may have (backups, a user's export).

Why not a gr.File: gradio copies every file output into its own folder, serves it there to
anyone who is logged in and knows the path, and never deletes it. Here the file stays in a
private folder (0700, the file 0600), the admin's page gets a link with a random ticket, and
the first request from the same address streams the file and deletes it. An unclaimed
ticket expires (its file goes with it).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DOWNLOADS_PATH = "downloads"  # the route: GET /downloads/{ticket}


@dataclass(frozen=True)
class Offer:
    path: Path
    filename: str
    media_type: str
    client: str
    expires: float


class OneTimeDownloads:
    """Tickets for private files: each is claimed once, by the address it was made for."""

    def __init__(self, ttl_s: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._offers: dict[str, Offer] = {}
        self._lock = threading.Lock()

    def offer(self, path: Path, filename: str, media_type: str, client: str) -> str:
        """A new ticket for `path`, valid for `ttl_s` seconds, for `client` only."""
        self.sweep()
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            self._offers[ticket] = Offer(
                path, filename, media_type, client, self.clock() + self.ttl_s
            )
        return ticket

    def link(self, ticket: str) -> str:
        """The link to put on the page (relative, so it works under a proxy's prefix)."""
        return f"{DOWNLOADS_PATH}/{ticket}"

    def take(self, ticket: str, client: str) -> Offer | None:
        """The offer, claimed (it cannot be claimed again); None if unknown, expired or
        made for another address. The caller deletes the file once it is sent."""
        self.sweep()
        with self._lock:
            offer = self._offers.get(ticket)
            if offer is None or not secrets.compare_digest(offer.client, client):
                return None
            del self._offers[ticket]
        return offer

    def sweep(self) -> None:
        """Forget expired tickets and delete their files."""
        now = self.clock()
        with self._lock:
            expired = [t for t, o in self._offers.items() if o.expires <= now]
            gone = [self._offers.pop(t) for t in expired]
        for offer in gone:
            offer.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Delete every file still on offer (shutdown)."""
        with self._lock:
            gone, self._offers = list(self._offers.values()), {}
        for offer in gone:
            offer.path.unlink(missing_ok=True)
