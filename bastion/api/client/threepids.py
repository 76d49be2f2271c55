"""Third-party identifiers (email addresses, phone numbers): Bastion binds none.

The organisation creates and ends accounts (admin API, SCIM, console); nobody signs up or resets
a password by email, and `m.3pid_changes` is advertised as disabled. So each endpoint of the
spec's "Adding Account Administrative Contact Information" answers what that means, not 404
M_UNRECOGNIZED (which a client shows as a broken server): the list of bound identifiers is
empty; adding, binding, deleting or unbinding one is 403 M_FORBIDDEN; every `requestToken`
(registration, password reset, adding an identifier) is 403 M_THREEPID_DENIED, the spec's
answer for "the homeserver does not allow the third-party identifier". The emails an identity
provider sends over SCIM stay SCIM attributes (returned to the IdP), never Matrix 3PIDs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError

_MANAGED = (
    "Email addresses and phone numbers are not linked to accounts on this server: your"
    " organisation manages accounts"
)


async def list_threepids(request: Request) -> Response:
    """GET /_matrix/client/v3/account/3pid"""
    await require_requester(request)
    return JsonResponse({"threepids": []})


async def change_threepid(request: Request) -> Response:
    """POST /_matrix/client/v3/account/3pid, /account/3pid/{add,bind,delete,unbind}"""
    await require_requester(request)
    raise MatrixError(403, Errcode.FORBIDDEN, _MANAGED)


async def request_token(request: Request) -> Response:
    """POST .../{register,account/password,account/3pid}/{email,msisdn}/requestToken (no
    token needed: the registration and password-reset ones are for people signed out)"""
    raise MatrixError(403, Errcode.THREEPID_DENIED, _MANAGED)


_CHANGES = ["/account/3pid", "/account/3pid/add", "/account/3pid/bind", "/account/3pid/delete",
            "/account/3pid/unbind"]  # fmt: skip
_TOKEN_REQUESTS = [
    f"{area}/{medium}/requestToken"
    for area in ("/register", "/account/password", "/account/3pid")
    for medium in ("email", "msisdn")
]

ROUTES = [
    Route("/account/3pid", list_threepids, methods=["GET"]),
    *(Route(path, change_threepid, methods=["POST"]) for path in _CHANGES),
    *(Route(path, request_token, methods=["POST"]) for path in _TOKEN_REQUESTS),
]
