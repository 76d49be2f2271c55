"""The published room directory (`/publicRooms`, `/directory/list/room/{roomId}`), application
services' directories (`/directory/list/appservice/{networkId}/{roomId}`) and room summaries
(`/_matrix/client/v1/room_summary/{roomIdOrAlias}`).

`GET /directory/list/room/{roomId}` needs no access token (the spec gives it no security
requirement) and ignores one. The other reads take the token when there is one: the services
decide whether one is needed (`directory.public_rooms_require_auth`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import access_token_of, require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.events.query_params import query_int
from bastion.services.directory.rooms import (
    NetworkVisibilityBody,
    PublicRoomsQuery,
    VisibilityBody,
)
from bastion.services.principal import Requester


async def _requester_if_any(request: Request) -> Requester | None:
    """The requester when the request carries a token (a bad token is still 401)."""
    if access_token_of(request) is None and "authorization" not in request.headers:
        return None
    return await require_requester(request)


async def get_visibility(request: Request) -> Response:
    """GET /_matrix/client/v3/directory/list/room/{roomId} (no authentication)"""
    visibility = await services_of(request).room_directory.visibility(request.path_params["roomId"])
    return JsonResponse({"visibility": visibility})


async def put_visibility(request: Request) -> Response:
    """PUT /_matrix/client/v3/directory/list/room/{roomId}"""
    requester = await require_requester(request)
    body = await decode_body(request, VisibilityBody)
    await services_of(request).room_directory.set_visibility(
        requester, request.path_params["roomId"], body.visibility
    )
    return empty()


async def put_network_visibility(request: Request) -> Response:
    """PUT /_matrix/client/v3/directory/list/appservice/{networkId}/{roomId} (`as_token`)"""
    requester = await require_requester(request)
    body = await decode_body(request, NetworkVisibilityBody)
    params = request.path_params
    await services_of(request).room_directory.set_network_visibility(
        requester, params["networkId"], params["roomId"], body.visibility
    )
    return empty()


async def get_public_rooms(request: Request) -> Response:
    """GET /_matrix/client/v3/publicRooms"""
    requester = await _requester_if_any(request)
    params = request.query_params
    query = PublicRoomsQuery(limit=query_int(params, "limit"), since=params.get("since"))
    page = await services_of(request).room_directory.public_rooms(
        requester, query, params.get("server")
    )
    return JsonResponse(page)


async def post_public_rooms(request: Request) -> Response:
    """POST /_matrix/client/v3/publicRooms"""
    requester = await _requester_if_any(request)
    body = await decode_body(request, PublicRoomsQuery)
    page = await services_of(request).room_directory.public_rooms(
        requester, body, request.query_params.get("server")
    )
    return JsonResponse(page)


async def room_summary(request: Request) -> Response:
    """GET /_matrix/client/v1/room_summary/{roomIdOrAlias}"""
    requester = await _requester_if_any(request)
    summary = await services_of(request).room_summary.summary(
        requester, request.path_params["roomIdOrAlias"]
    )
    return JsonResponse(summary)


ROUTES = [
    Route("/directory/list/room/{roomId}", get_visibility, methods=["GET"]),
    Route("/directory/list/room/{roomId}", put_visibility, methods=["PUT"]),
    Route(
        "/directory/list/appservice/{networkId}/{roomId}", put_network_visibility, methods=["PUT"]
    ),
    Route("/publicRooms", get_public_rooms, methods=["GET"]),
    Route("/publicRooms", post_public_rooms, methods=["POST"]),
]
V1_ROUTES = [Route("/room_summary/{roomIdOrAlias}", room_summary, methods=["GET"])]
