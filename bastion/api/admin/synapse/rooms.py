"""Synapse's room admin API, the reads: `GET /_synapse/admin/v1/rooms` (list),
`/v1/rooms/{roomId}` (details), `/v1/rooms/{roomId}/members`, `/v1/rooms/{roomId}/state`,
`/v1/rooms/{roomIdOrAlias}/forward_extremities` (GET, DELETE: one per room, services/admin/
rooms.py), and `/v1/statistics/database/rooms` (the largest rooms: services/admin/room_sizes.py).

Field names and parameters are Synapse's (docs/admin-api.md): `from`/`limit` offsets,
`order_by` from Synapse's allow-list (anything else is 400), `dir` `f` or `b`, `search_term`;
the list answers `rooms`, `offset`, `total_rooms` and, when there is one, `next_batch` /
`prev_batch`. Unknown query parameters are ignored.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import bool_param, int_param, require_admin
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.admin.room_summaries import RoomSummary
from bastion.services.admin.rooms import RoomListQuery


def list_fields(room: RoomSummary) -> dict[str, Any]:
    """One room of Synapse's room list."""
    return {
        "room_id": room.room_id,
        "name": room.name,
        "canonical_alias": room.canonical_alias,
        "joined_members": room.joined_members,
        "joined_local_members": room.joined_local_members,
        "version": room.version,
        "creator": room.creator,
        "encryption": room.encryption,
        "federatable": room.federatable,
        "public": room.public,
        "join_rules": room.join_rules,
        "guest_access": room.guest_access,
        "history_visibility": room.history_visibility,
        "state_events": room.state_events,
        "room_type": room.room_type,
    }


def _optional_bool(request: Request, name: str) -> bool | None:
    if request.query_params.get(name) in (None, ""):
        return None
    return bool_param(request, name, False)


async def list_rooms(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms"""
    admin = await require_admin(request)
    direction = request.query_params.get("dir", "f")
    if direction not in ("f", "b"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "Unknown direction: dir must be 'f' or 'b'")
    query = RoomListQuery(
        start=int_param(request, "from", 0),
        limit=int_param(request, "limit", 100),
        order_by=request.query_params.get("order_by") or "name",
        backwards=direction == "b",
        search_term=request.query_params.get("search_term") or None,
        public_rooms=_optional_bool(request, "public_rooms"),
        empty_rooms=_optional_bool(request, "empty_rooms"),
    )
    page = await services_of(request).room_admin.list_rooms(admin, query)
    body: dict[str, Any] = {
        "rooms": [list_fields(r) for r in page.rooms],
        "offset": page.offset,
        "total_rooms": page.total_rooms,
    }
    if page.next_batch is not None:
        body["next_batch"] = page.next_batch
    if page.prev_batch is not None:
        body["prev_batch"] = page.prev_batch
    return JsonResponse(body)


async def room_details(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}"""
    admin = await require_admin(request)
    details = await services_of(request).room_admin.details(admin, request.path_params["roomId"])
    room = details.summary
    return JsonResponse({
        **list_fields(room),
        "topic": room.topic,
        "avatar": room.avatar,
        "joined_local_devices": details.joined_local_devices,
        "forgotten": details.forgotten,
        "tombstoned": room.tombstoned,
        "replacement_room": room.replacement_room,
    })  # fmt: skip


async def room_members(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/members"""
    admin = await require_admin(request)
    members = await services_of(request).room_admin.members(admin, request.path_params["roomId"])
    return JsonResponse({"members": members, "total": len(members)})


async def room_state(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/state"""
    admin = await require_admin(request)
    event_type = request.query_params.get("type") or None
    state = await services_of(request).room_admin.state(
        admin, request.path_params["roomId"], event_type
    )
    return JsonResponse({"state": state})


async def forward_extremities(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities"""
    admin = await require_admin(request)
    services = services_of(request)
    room_id = await services.membership.resolve_room(request.path_params["roomIdOrAlias"])
    results = await services.room_admin.forward_extremities(admin, room_id)
    return JsonResponse({"count": len(results), "results": results})


async def delete_forward_extremities(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities"""
    admin = await require_admin(request)
    services = services_of(request)
    room_id = await services.membership.resolve_room(request.path_params["roomIdOrAlias"])
    deleted = await services.room_admin.delete_forward_extremities(admin, room_id)
    return JsonResponse({"deleted": deleted})


async def largest_rooms(request: Request) -> Response:
    """GET /_synapse/admin/v1/statistics/database/rooms"""
    admin = await require_admin(request)
    sizes = await services_of(request).room_sizes.largest(admin)
    rooms = [{"room_id": s.room_id, "estimated_size": s.estimated_size} for s in sizes]
    return JsonResponse({"rooms": rooms})


ROUTES = [
    Route("/v1/statistics/database/rooms", largest_rooms, methods=["GET"]),
    Route("/v1/rooms", list_rooms, methods=["GET"]),
    Route("/v1/rooms/{roomId}", room_details, methods=["GET"]),
    Route("/v1/rooms/{roomId}/members", room_members, methods=["GET"]),
    Route("/v1/rooms/{roomId}/state", room_state, methods=["GET"]),
    Route("/v1/rooms/{roomIdOrAlias}/forward_extremities", forward_extremities, methods=["GET"]),
    Route(
        "/v1/rooms/{roomIdOrAlias}/forward_extremities",
        delete_forward_extremities,
        methods=["DELETE"],
    ),
]
