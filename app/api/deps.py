"""Dependencies shared by routers: the services object and who the caller is.

`authenticated` is on every `/api` router (the admin router has the admin check instead):
with accounts, a request without a valid API token is refused before any route code runs,
so a route added later cannot forget it. `resolve_user` then reads the identity it found.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from fastapi import Request

from app.errors import ErrorHTTPException
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


async def authenticated(request: Request) -> None:
    """With accounts configured (now or ever: see `UserAuthenticator.accounts_required`),
    a valid API token or 401; the user it belongs to is kept for `resolve_user`.
    Local mode (loopback, no accounts ever) lets every request through."""
    services = get_services(request)
    token = bearer_token(request)
    user_id = await asyncio.to_thread(services.auth.user_for_api_token, token) if token else None
    request.state.api_user = user_id
    if user_id is None and services.auth.users_configured():
        raise ErrorHTTPException(UnauthorizedError(), request.headers.get("accept-language"))


def resolve_user(request: Request, claimed: str | None) -> str:
    """The user a request acts for.

    Local mode (loopback, no accounts): the claimed id, or the one local user. With accounts,
    the identity comes from the API token (`Authorization: Bearer`) and a claimed id must
    match it.
    """
    services = get_services(request)
    if hasattr(request.state, "api_user"):
        authed: str | None = request.state.api_user
    else:  # a route outside the authenticated routers
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
