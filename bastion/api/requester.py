"""Access token → Requester, for every authenticated endpoint.

The token comes from `Authorization: Bearer ...` or, as older clients do, the `access_token`
query parameter (spec: client-server-api#using-access-tokens).
"""

from __future__ import annotations

from starlette.requests import Request

from bastion.api.context import services_of
from bastion.errors import Errcode, MatrixError
from bastion.services.auth import Requester


def access_token_of(request: Request) -> str | None:
    """The access token the request carries, if any."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return request.query_params.get("access_token") or None


def client_ip(request: Request) -> str:
    """The peer address (the reverse proxy's, when there is one)."""
    return request.client.host if request.client is not None else "unknown"


async def require_requester(request: Request) -> Requester:
    """Authenticate the request: 401 M_MISSING_TOKEN or M_UNKNOWN_TOKEN when it cannot be."""
    token = access_token_of(request)
    if token is None:
        raise MatrixError(401, Errcode.MISSING_TOKEN, "Missing access token")
    return await services_of(request).auth.authenticate(token, client_ip(request))
