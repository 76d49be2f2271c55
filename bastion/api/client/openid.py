"""OpenID tokens (services/openid.py): a client asks for one
(`POST /_matrix/client/v3/user/{userId}/openid/request_token`), a third party checks it
(`GET /_matrix/federation/v1/openid/userinfo?access_token=...`, no other authentication: the
token is the credential). Bastion speaks no other federation; a reverse proxy that sends this
one path here lets a widget or Element Call's token service (lk-jwt-service) check tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse

USERINFO_PATH = "/_matrix/federation/v1/openid/userinfo"


async def request_token(request: Request) -> Response:
    """POST /_matrix/client/v3/user/{userId}/openid/request_token"""
    requester = await require_requester(request)
    token = await services_of(request).openid.request_token(
        requester, request.path_params["userId"]
    )
    return JsonResponse(token)


async def userinfo(request: Request) -> Response:
    """GET /_matrix/federation/v1/openid/userinfo"""
    info = await services_of(request).openid.userinfo(request.query_params.get("access_token"))
    return JsonResponse(info)


ROUTES = [Route("/user/{userId}/openid/request_token", request_token, methods=["POST"])]
USERINFO_ROUTES = [Route(USERINFO_PATH, userinfo, methods=["GET"])]  # mounted as is (routes.py)
