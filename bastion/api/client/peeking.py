"""Room previews: `GET /rooms/{roomId}/initialSync` and `GET /events?room_id=`
(services/rooms/peeking.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.long_poll import unless_hung_up
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.events.query_params import query_int
from bastion.services.rooms.peeking import DEFAULT_POLL_MS


async def room_initial_sync(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/initialSync"""
    requester = await require_requester(request)
    peeking = services_of(request).peeking
    limit = query_int(request.query_params, "limit")
    return JsonResponse(await peeking.initial_sync(requester, request.path_params["roomId"], limit))


async def room_events(request: Request) -> Response:
    """GET /_matrix/client/v3/events?room_id= (the room-less event stream, deprecated long ago
    in favour of /sync, is not served: `room_id` is required)."""
    peeking = services_of(request).peeking
    mark = peeking.revocations_mark()  # before the token check (services/long_poll.py)
    requester = await require_requester(request)
    q = request.query_params
    room_id = q.get("room_id")
    if not room_id:
        raise MatrixError(
            400, Errcode.MISSING_PARAM, "room_id is required (use /sync for every room)"
        )
    answer = peeking.events(
        requester,
        room_id,
        q.get("from"),
        query_int(q, "timeout", DEFAULT_POLL_MS),
        authenticated_at=mark,
    )
    body = await unless_hung_up(request, answer)
    if body is None:
        return Response(status_code=400)  # nobody is listening
    return JsonResponse(body)


ROUTES = [
    Route("/rooms/{roomId}/initialSync", room_initial_sync, methods=["GET"]),
    Route("/events", room_events, methods=["GET"]),
]
