"""Third-party lookups: `/thirdparty/protocols`, `/thirdparty/protocol/{protocol}`,
`/thirdparty/{location,user}[/{protocol}]` (services/thirdparty.py). All need an access token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.services import thirdparty


async def get_protocols(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/protocols"""
    await require_requester(request)
    return JsonResponse(thirdparty.protocols())


async def get_protocol(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/protocol/{protocol}

    Also GET /_matrix/client/v3/thirdparty/{location,user}/{protocol}: a lookup through an
    unknown protocol is 404 M_NOT_FOUND as well."""
    await require_requester(request)
    thirdparty.require_protocol(request.path_params["protocol"])


async def get_locations_of_alias(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/location"""
    await require_requester(request)
    return JsonResponse(thirdparty.reverse_lookup("alias", request.query_params.get("alias")))


async def get_users_of_user_id(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/user"""
    await require_requester(request)
    return JsonResponse(thirdparty.reverse_lookup("userid", request.query_params.get("userid")))


ROUTES = [
    Route("/thirdparty/protocols", get_protocols, methods=["GET"]),
    Route("/thirdparty/protocol/{protocol}", get_protocol, methods=["GET"]),
    Route("/thirdparty/location/{protocol}", get_protocol, methods=["GET"]),
    Route("/thirdparty/user/{protocol}", get_protocol, methods=["GET"]),
    Route("/thirdparty/location", get_locations_of_alias, methods=["GET"]),
    Route("/thirdparty/user", get_users_of_user_id, methods=["GET"]),
]
