"""Rooms linked to a SCIM group: `GET /groups/{groupId}/rooms`, `PUT /groups/{groupId}/rooms`
(`{"rooms": [...]}`: exactly these; the group's members join them at once)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body, path_param
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


class _Rooms(msgspec.Struct, frozen=True):
    rooms: list[str]


async def get_group_rooms(request: Request) -> Response:
    """GET /_bastion/admin/v1/groups/{groupId}/rooms"""
    admin = await require_admin(request)
    group_rooms = services_of(request).scim.group_rooms
    rooms = await group_rooms.linked_rooms(admin, request.path_params["groupId"])
    return JsonResponse({"rooms": rooms})


async def put_group_rooms(request: Request) -> Response:
    """PUT /_bastion/admin/v1/groups/{groupId}/rooms {"rooms": [...]}"""
    admin = await require_admin(request)
    body = await decode_body(request, _Rooms)
    group_id = request.path_params["groupId"]
    group_rooms = services_of(request).scim.group_rooms
    changes = await group_rooms.link(admin, group_id, body.rooms)
    rooms = await group_rooms.linked_rooms(admin, group_id)
    return JsonResponse({"rooms": rooms, "joined": changes.joined, "refused": changes.refused})


ROUTES = [
    Route("/groups/{groupId}/rooms", get_group_rooms, methods=["GET"]),
    Route("/groups/{groupId}/rooms", put_group_rooms, methods=["PUT"]),
]

_ROOM_LIST = {"type": "array", "items": {"type": "string", "description": "A room ID"}}
_BY_USER = {
    "type": "object",
    "additionalProperties": _ROOM_LIST,
    "description": "User ID → rooms",
}
_GROUP = path_param("groupId", "The SCIM group's id")
OPENAPI = {
    "/groups/{groupId}/rooms": {
        "get": {
            "summary": "The rooms a SCIM group is linked to",
            "parameters": [_GROUP],
            "responses": {
                "200": json_body({"type": "object", "properties": {"rooms": _ROOM_LIST}}),
                **errors(404),
            },
        },
        "put": {
            "summary": "Link a SCIM group to exactly these rooms; its members join them now and "
            "whoever joins the group later joins them too (audited)",
            "parameters": [_GROUP],
            "requestBody": {
                "required": True,
                **json_body(
                    {"type": "object", "required": ["rooms"], "properties": {"rooms": _ROOM_LIST}}
                ),
            },
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "properties": {
                            "rooms": _ROOM_LIST,
                            "joined": _BY_USER,
                            "refused": _BY_USER,
                        },
                    }
                ),
                **errors(400, 404),
            },
        },
    }
}
