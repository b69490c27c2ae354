"""`GET /downloads/{ticket}`: a one-time link the admin tab made (app/services/downloads.py).

Outside `/api` on purpose: a browser follows the link without headers, so the ticket is the
credential (random, single use, short-lived, for the address that asked for it); the admin
token was checked when the link was made.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.api.deps import get_services
from app.api.downloads import attachment
from app.composition import Services
from app.security.admin_gate import client_key
from app.services.errors import NotFound

router = APIRouter(tags=["admin"])


@router.get("/downloads/{ticket}", response_class=FileResponse)
async def download(
    request: Request,
    ticket: str = Path(max_length=100),
    services: Services = Depends(get_services),
) -> FileResponse:
    """Stream the offered file once, then delete it; 404 for anything else."""
    offer = services.admin.downloads.take(ticket, client_key(request))
    if offer is None or not offer.path.is_file():
        raise NotFound("error.not_found")
    return FileResponse(
        offer.path,
        media_type=offer.media_type,
        headers={**attachment(offer.filename), "Cache-Control": "no-store"},
        background=BackgroundTask(offer.path.unlink, missing_ok=True),
    )
