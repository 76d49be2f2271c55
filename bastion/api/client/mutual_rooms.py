"""Rooms shared with another user (services/directory/mutual_rooms.py): the spec's
`GET /_matrix/client/v1/mutual_rooms` and the path matrix-js-sdk calls when the server
advertises `uk.half-shot.msc2666.query_mutual_rooms` (same query and answer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse

UNSTABLE_PATH = "/_matrix/client/unstable/uk.half-shot.msc2666/user/mutual_rooms"


async def mutual_rooms(request: Request) -> Response:
    """GET /_matrix/client/v1/mutual_rooms?user_id=...&from=..."""
    requester = await require_requester(request)
    params = request.query_params
    page = await services_of(request).mutual_rooms.mutual_rooms(
        requester, params.get("user_id"), params.get("from")
    )
    return JsonResponse(page)


V1_ROUTES = [Route("/mutual_rooms", mutual_rooms, methods=["GET"])]
ROUTES = [Route(UNSTABLE_PATH, mutual_rooms, methods=["GET"])]  # mounted as is (routes.py)
