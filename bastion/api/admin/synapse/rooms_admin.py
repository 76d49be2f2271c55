"""`POST /_synapse/admin/v1/rooms/{roomIdOrAlias}/make_room_admin`: Synapse's Make Room Admin API.

Grants `user_id` (by default the calling admin) room admin power through a local member who has
it, inviting them first when they are not in the room (services/rooms/promotion.py). Answers
`{}` as Synapse does.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.events.typed_json import decode_as


class MakeRoomAdminBody(msgspec.Struct, frozen=True):
    """The body; unknown fields are ignored, as Synapse does."""

    user_id: str | None = None


async def make_room_admin(request: Request) -> Response:
    """POST /_synapse/admin/v1/rooms/{roomIdOrAlias}/make_room_admin"""
    admin = await require_admin(request)
    raw = await request.body()
    body = decode_as(raw, MakeRoomAdminBody, what="request body") if raw.strip() else None
    services = services_of(request)
    room_id = await services.membership.resolve_room(request.path_params["roomIdOrAlias"])
    user_id = body.user_id if body is not None and body.user_id else admin.user_id
    await services.promoter.promote(admin, room_id, user_id)
    return JsonResponse({})


ROUTES = [
    Route("/v1/rooms/{roomIdOrAlias}/make_room_admin", make_room_admin, methods=["POST"]),
]
