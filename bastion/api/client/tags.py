"""Room tags: `/user/{userId}/rooms/{roomId}/tags[/{tag}]`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


async def get_tags(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags"""
    requester = await require_requester(request)
    p = request.path_params
    return JsonResponse(await services_of(request).tags.tags(requester, p["userId"], p["roomId"]))


async def put_tag(request: Request) -> Response:
    """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    requester = await require_requester(request)
    body = await decode_object(request)
    p = request.path_params
    await services_of(request).tags.add(requester, p["userId"], p["roomId"], p["tag"], body)
    return empty()


async def delete_tag(request: Request) -> Response:
    """DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    requester = await require_requester(request)
    p = request.path_params
    await services_of(request).tags.remove(requester, p["userId"], p["roomId"], p["tag"])
    return empty()


ROUTES = [
    Route("/user/{userId}/rooms/{roomId}/tags", get_tags, methods=["GET"]),
    Route("/user/{userId}/rooms/{roomId}/tags/{tag:path}", put_tag, methods=["PUT"]),
    Route("/user/{userId}/rooms/{roomId}/tags/{tag:path}", delete_tag, methods=["DELETE"]),
]
