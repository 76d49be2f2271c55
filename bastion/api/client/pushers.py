"""Pushers (spec: client-server-api#push-notifications): list and set."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.services.push.pushers import PusherRequest


async def get_pushers(request: Request) -> Response:
    """GET /_matrix/client/v3/pushers"""
    requester = await require_requester(request)
    return JsonResponse({"pushers": await services_of(request).pushers.list_pushers(requester)})


async def set_pusher(request: Request) -> Response:
    """POST /_matrix/client/v3/pushers/set"""
    requester = await require_requester(request)
    body = await decode_body(request, PusherRequest)
    await services_of(request).pushers.set_pusher(requester, body)
    return empty()


ROUTES = [
    Route("/pushers", get_pushers, methods=["GET"]),
    Route("/pushers/set", set_pusher, methods=["POST"]),
]
