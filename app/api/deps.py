"""Dependencies shared by routers: the services object and who the caller is."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

if TYPE_CHECKING:
    from app.composition import Services

LOCAL_USER = "local"
_USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def resolve_user(request: Request, claimed: str | None) -> str:
    """The user a request acts for.

    Local mode (loopback, no accounts): the claimed id, or the one local user. With accounts,
    the identity comes from the API token and a claimed id must match it.
    """
    services = get_services(request)
    authed = services.authenticate_request(request)
    if authed is not None:
        if claimed and claimed != authed:
            raise HTTPException(status_code=403, detail="user_id does not match your token")
        return authed
    if services.accounts_required:
        raise HTTPException(
            status_code=401, detail="API token required", headers={"WWW-Authenticate": "Bearer"}
        )
    if claimed is None:
        return LOCAL_USER
    if not _USER_ID.match(claimed):
        raise HTTPException(status_code=422, detail="user_id: 1-64 of A-Z a-z 0-9 _ . @ -")
    return claimed
