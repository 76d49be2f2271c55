"""Third-party lookups: `/thirdparty/protocols`, `/thirdparty/protocol/{protocol}`,
`/thirdparty/{location,user}[/{protocol}]`, answered by the bridges offering each network
(services/appservices/thirdparty.py). All need an access token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse

# query parameters that are the request's authentication, not the lookup's fields
_NOT_FIELDS = frozenset({"user_id", "device_id", "access_token"})


async def get_protocols(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/protocols"""
    await require_requester(request)
    return JsonResponse(await services_of(request).appservices.thirdparty.protocols())


async def get_protocol(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/protocol/{protocol}"""
    await require_requester(request)
    lookups = services_of(request).appservices.thirdparty
    return JsonResponse(await lookups.protocol(request.path_params["protocol"]))


async def get_locations(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/location/{protocol}?<fields>"""
    return await _lookup(request, "location")


async def get_users(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/user/{protocol}?<fields>"""
    return await _lookup(request, "user")


async def _lookup(request: Request, kind: str) -> Response:
    await require_requester(request)
    fields = {k: v for k, v in request.query_params.items() if k not in _NOT_FIELDS}
    lookups = services_of(request).appservices.thirdparty
    return JsonResponse(await lookups.lookup(kind, request.path_params["protocol"], fields))


async def get_locations_of_alias(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/location?alias="""
    await require_requester(request)
    lookups = services_of(request).appservices.thirdparty
    return JsonResponse(
        await lookups.reverse("location", "alias", request.query_params.get("alias"))
    )


async def get_users_of_user_id(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/user?userid="""
    await require_requester(request)
    lookups = services_of(request).appservices.thirdparty
    return JsonResponse(await lookups.reverse("user", "userid", request.query_params.get("userid")))


ROUTES = [
    Route("/thirdparty/protocols", get_protocols, methods=["GET"]),
    Route("/thirdparty/protocol/{protocol}", get_protocol, methods=["GET"]),
    Route("/thirdparty/location/{protocol}", get_locations, methods=["GET"]),
    Route("/thirdparty/user/{protocol}", get_users, methods=["GET"]),
    Route("/thirdparty/location", get_locations_of_alias, methods=["GET"]),
    Route("/thirdparty/user", get_users_of_user_id, methods=["GET"]),
]
