"""Global and per-room account data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


async def put_account_data(request: Request) -> Response:
    """PUT /_matrix/client/v3/user/{userId}[/rooms/{roomId}]/account_data/{type}"""
    requester = await require_requester(request)
    content = await decode_object(request)
    p = request.path_params
    await services_of(request).account_data.put(
        requester, p["userId"], p.get("roomId", ""), p["type"], content
    )
    return empty()


async def get_account_data(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}[/rooms/{roomId}]/account_data/{type}"""
    requester = await require_requester(request)
    p = request.path_params
    content = await services_of(request).account_data.get(
        requester, p["userId"], p.get("roomId", ""), p["type"]
    )
    return JsonResponse(content)


ROUTES = [
    Route("/user/{userId}/account_data/{type}", put_account_data, methods=["PUT"]),
    Route("/user/{userId}/account_data/{type}", get_account_data, methods=["GET"]),
    Route("/user/{userId}/rooms/{roomId}/account_data/{type}", put_account_data, methods=["PUT"]),
    Route("/user/{userId}/rooms/{roomId}/account_data/{type}", get_account_data, methods=["GET"]),
]
