"""Synapse's admin reads of a room, for a server admin whether or not they are in it:
`GET /_synapse/admin/v1/rooms/{roomId}/messages` (as the client `/messages`, `dir` defaulting
to `f`), `.../context/{eventId}`, `.../timestamp_to_event` and
`GET /_synapse/admin/v1/fetch_event/{eventId}` (`{"event": ...}`, in client form), and
`.../hierarchy` (a space's tree, every room whatever the admin's memberships). Reads of
messages are audited: services/admin/room_reading.py.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.client.room_events import filter_param, messages_query, time_query
from bastion.api.client.spaces import hierarchy_query
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.events.query_params import query_int
from bastion.services.directory.hierarchy import MAX_MAX_DEPTH


async def messages(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/messages"""
    admin = await require_admin(request)
    query = messages_query(request, default_dir="f")
    reading = services_of(request).admin_room_reading
    return JsonResponse(await reading.messages(admin, request.path_params["roomId"], query))


async def context(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/context/{eventId}"""
    admin = await require_admin(request)
    p = request.path_params
    result = await services_of(request).admin_room_reading.context(
        admin, p["roomId"], p["eventId"], limit=query_int(request.query_params, "limit"),
        f=filter_param(request),
    )  # fmt: skip
    return JsonResponse(result)


async def timestamp_to_event(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/timestamp_to_event"""
    admin = await require_admin(request)
    ts, direction = time_query(request)
    reading = services_of(request).admin_room_reading
    event = await reading.event_at_time(admin, request.path_params["roomId"], ts, direction)
    return JsonResponse({"event_id": event.event_id, "origin_server_ts": event.origin_server_ts})


async def fetch_event(request: Request) -> Response:
    """GET /_synapse/admin/v1/fetch_event/{eventId}"""
    admin = await require_admin(request)
    reading = services_of(request).admin_room_reading
    return JsonResponse({"event": await reading.event(admin, request.path_params["eventId"])})


async def hierarchy(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/hierarchy"""
    admin = await require_admin(request)
    page = await services_of(request).space_hierarchy.hierarchy(
        admin,
        request.path_params["roomId"],
        hierarchy_query(request, default_depth=MAX_MAX_DEPTH),
        as_admin=True,
    )
    return JsonResponse(page)


ROUTES = [
    Route("/v1/rooms/{roomId}/messages", messages, methods=["GET"]),
    Route("/v1/rooms/{roomId}/context/{eventId}", context, methods=["GET"]),
    Route("/v1/rooms/{roomId}/timestamp_to_event", timestamp_to_event, methods=["GET"]),
    Route("/v1/fetch_event/{eventId}", fetch_event, methods=["GET"]),
    Route("/v1/rooms/{roomId}/hierarchy", hierarchy, methods=["GET"]),
]
