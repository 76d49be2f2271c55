"""Access token → Requester, for every authenticated endpoint.

The token comes from `Authorization: Bearer ...` (spec: client-server-api#using-access-tokens).
Spec v1.20 no longer supports the `access_token` query parameter, since tokens in URLs end up in
proxy logs and browser history: a query token is ignored, so the request is treated as carrying
no token (401 M_MISSING_TOKEN where one is needed), unless `http.allow_access_token_in_query` is
set for old clients; each use is then logged (without the token).

A registered application service's `as_token` acts as the user its `user_id` parameter names
(services/appservices/identity.py).

`require_requester` also tells the access log who the request is authenticated as.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from bastion.api.access_log import note_user
from bastion.api.client_address import SCOPE_KEY, UNKNOWN
from bastion.api.context import services_of
from bastion.errors import Errcode, MatrixError
from bastion.services.principal import Requester

log = logging.getLogger(__name__)


def access_token_of(request: Request) -> str | None:
    """The access token the request carries, if any."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    if not services_of(request).info.allow_access_token_in_query:
        return None
    return request.query_params.get("access_token") or None


def client_ip(request: Request) -> str:
    """The client address (client_address.py: the real client behind trusted proxies)."""
    address = request.scope.get(SCOPE_KEY)
    if isinstance(address, str):
        return address
    return request.client.host if request.client is not None else UNKNOWN


async def require_requester(request: Request, *, allow_locked: bool = False) -> Requester:
    """Authenticate the request: 401 M_MISSING_TOKEN or M_UNKNOWN_TOKEN when it cannot be, and
    401 M_USER_LOCKED for an account an admin locked unless `allow_locked` (the logouts)."""
    token = access_token_of(request)
    if token is None:
        raise MatrixError(401, Errcode.MISSING_TOKEN, "Missing access token")
    services = services_of(request)
    registration = services.appservices.registry.by_token(token)
    if registration is not None:  # an application service, acting as one of its users
        params = request.query_params
        requester = await services.appservices.identities.assert_identity(
            registration, params.get("user_id"), params.get("device_id")
        )
    else:
        requester = await services.auth.authenticate(
            token, client_ip(request), allow_locked=allow_locked
        )
    note_user(requester.user_id)
    if "authorization" not in request.headers:
        log.info(
            "%s used an access token in the query string (deprecated) for %s %s",
            requester.user_id,
            request.method,
            request.url.path,
        )
    return requester
