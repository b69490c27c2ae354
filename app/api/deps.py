"""Dependencies shared by routers: the services object and who the caller is."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi import Request

from app.security.errors import UnauthorizedError, UserMismatchError
from app.security.users_auth import bearer_token
from app.services.errors import ServiceError

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
    the identity comes from the API token (`Authorization: Bearer`) and a claimed id must
    match it.
    """
    services = get_services(request)
    token = bearer_token(request)
    authed = services.auth.user_for_api_token(token) if token else None
    if authed is not None:
        if claimed and claimed != authed:
            raise UserMismatchError()
        return authed
    if services.auth.users_configured():
        raise UnauthorizedError()
    if claimed is None:
        return LOCAL_USER
    if not _USER_ID.match(claimed):
        raise ServiceError("error.invalid_user_id", 422)
    return claimed
