"""Synapse's admin APIs that act in a room through its members:
`POST /_synapse/admin/v1/rooms/{roomIdOrAlias}/make_room_admin` (Make Room Admin),
`POST /_synapse/admin/v1/join/{roomIdOrAlias}` (Edit Room Membership) and
`PUT`/`GET /_synapse/admin/v1/rooms/{roomId}/block` (Block Room).

make_room_admin grants `user_id` (by default the calling admin) room admin power through a local
member who has it, inviting them first when they are not in the room
(services/rooms/promotion.py), and answers `{}`. join puts a local account in the room, invited
first by a local member with the power unless the room is public (services/rooms/room_entry.py),
and answers `{"room_id"}`. block keeps every local user out (services/admin/room_blocks.py).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin, required
from bastion.api.bodies import decode_body, decode_optional_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


class MakeRoomAdminBody(msgspec.Struct, frozen=True):
    """The body; unknown fields are ignored, as Synapse does."""

    user_id: str | None = None


async def make_room_admin(request: Request) -> Response:
    """POST /_synapse/admin/v1/rooms/{roomIdOrAlias}/make_room_admin"""
    admin = await require_admin(request)
    body = await decode_optional_body(request, MakeRoomAdminBody)
    services = services_of(request)
    room_id = await services.membership.resolve_room(request.path_params["roomIdOrAlias"])
    user_id = body.user_id or admin.user_id
    await services.promoter.promote(admin, room_id, user_id)
    return JsonResponse({})


class JoinBody(msgspec.Struct, frozen=True):
    """The join body: `user_id` (required; a missing one is M_MISSING_PARAM, as in Synapse)."""

    user_id: str | None = None


async def join(request: Request) -> Response:
    """POST /_synapse/admin/v1/join/{roomIdOrAlias}"""
    admin = await require_admin(request)
    user_id = required((await decode_body(request, JoinBody)).user_id, "user_id")
    entry = services_of(request).room_entry
    room_id = await entry.force_join(admin, request.path_params["roomIdOrAlias"], user_id)
    return JsonResponse({"room_id": room_id})


class BlockBody(msgspec.Struct, frozen=True):
    """The block body: `block`, a boolean (required)."""

    block: bool | None = None


async def block_status(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/block"""
    admin = await require_admin(request)
    blocks = services_of(request).room_blocks
    blocked_by = await blocks.blocked_by(admin, request.path_params["roomId"])
    if blocked_by is None:
        return JsonResponse({"block": False})
    return JsonResponse({"block": True, "user_id": blocked_by})


async def set_block(request: Request) -> Response:
    """PUT /_synapse/admin/v1/rooms/{roomId}/block"""
    admin = await require_admin(request)
    blocked = required((await decode_body(request, BlockBody)).block, "block")
    blocks = services_of(request).room_blocks
    await blocks.set_blocked(admin, request.path_params["roomId"], blocked)
    return JsonResponse({"block": blocked})


ROUTES = [
    Route("/v1/rooms/{roomIdOrAlias}/make_room_admin", make_room_admin, methods=["POST"]),
    Route("/v1/join/{roomIdOrAlias}", join, methods=["POST"]),
    Route("/v1/rooms/{roomId}/block", block_status, methods=["GET"]),
    Route("/v1/rooms/{roomId}/block", set_block, methods=["PUT"]),
]
