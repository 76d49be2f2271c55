"""VoIP: `GET /voip/turnServer`, TURN credentials for calls (services/voip.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


async def turn_server(request: Request) -> Response:
    """GET /_matrix/client/v3/voip/turnServer"""
    requester = await require_requester(request)
    credentials = services_of(request).voip.turn_server(requester)
    # spec: the homeserver MAY provide a TURN server; without one the answer is `{}`.
    return empty() if credentials is None else JsonResponse(credentials)


ROUTES = [Route("/voip/turnServer", turn_server, methods=["GET"])]
