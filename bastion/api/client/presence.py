"""Presence status: `PUT` and `GET /presence/{userId}/status`."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


class PresenceBody(msgspec.Struct, frozen=True):
    """Body of `PUT /presence/{userId}/status`; `presence` is checked against the spec's values
    by the service (400 M_INVALID_PARAM), a missing or non-string one here (400 M_BAD_JSON)."""

    presence: str
    status_msg: str | None = None


async def set_presence(request: Request) -> Response:
    """PUT /_matrix/client/v3/presence/{userId}/status"""
    requester = await require_requester(request)
    body = await decode_body(request, PresenceBody)
    await services_of(request).presence.set_status(
        requester, request.path_params["userId"], body.presence, body.status_msg
    )
    return empty()


async def get_presence(request: Request) -> Response:
    """GET /_matrix/client/v3/presence/{userId}/status"""
    requester = await require_requester(request)
    status = await services_of(request).presence.get_status(
        requester, request.path_params["userId"]
    )
    return JsonResponse(status)


ROUTES = [
    Route("/presence/{userId}/status", set_presence, methods=["PUT"]),
    Route("/presence/{userId}/status", get_presence, methods=["GET"]),
]
