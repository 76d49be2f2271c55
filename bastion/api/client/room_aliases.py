"""Room aliases: `/directory/room/{roomAlias}` and `/rooms/{roomId}/aliases`.

Resolving an alias needs no access token (the spec gives `GET /directory/room/{roomAlias}` no
security requirement: aliases are how rooms are shared); creating, deleting and listing do.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


class AliasBody(msgspec.Struct, frozen=True):
    """Body of `PUT /directory/room/{roomAlias}`."""

    room_id: str


async def put_alias(request: Request) -> Response:
    """PUT /_matrix/client/v3/directory/room/{roomAlias}"""
    requester = await require_requester(request)
    body = await decode_body(request, AliasBody)
    await services_of(request).aliases.create(
        requester, request.path_params["roomAlias"], body.room_id
    )
    return empty()


async def get_alias(request: Request) -> Response:
    """GET /_matrix/client/v3/directory/room/{roomAlias} (no authentication)"""
    services = services_of(request)
    room_id = await services.aliases.resolve(request.path_params["roomAlias"])
    return JsonResponse({"room_id": room_id, "servers": [services.info.server_name]})


async def delete_alias(request: Request) -> Response:
    """DELETE /_matrix/client/v3/directory/room/{roomAlias}"""
    requester = await require_requester(request)
    await services_of(request).aliases.delete(requester, request.path_params["roomAlias"])
    return empty()


async def room_aliases(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/aliases"""
    requester = await require_requester(request)
    aliases = await services_of(request).aliases.aliases(requester, request.path_params["roomId"])
    return JsonResponse({"aliases": aliases})


ROUTES = [
    Route("/directory/room/{roomAlias}", put_alias, methods=["PUT"]),
    Route("/directory/room/{roomAlias}", get_alias, methods=["GET"]),
    Route("/directory/room/{roomAlias}", delete_alias, methods=["DELETE"]),
    Route("/rooms/{roomId}/aliases", room_aliases, methods=["GET"]),
]
