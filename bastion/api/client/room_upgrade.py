"""`POST /_matrix/client/v3/rooms/{roomId}/upgrade` (services/rooms/upgrade.py)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse


class UpgradeBody(msgspec.Struct, frozen=True):
    """The request body (spec: room_upgrades.yaml)."""

    new_version: str
    additional_creators: list[str] = []


async def upgrade(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/upgrade"""
    requester = await require_requester(request)
    body = await decode_body(request, UpgradeBody)
    new_room = await services_of(request).room_upgrade.upgrade(
        requester, request.path_params["roomId"], body.new_version, body.additional_creators
    )
    return JsonResponse({"replacement_room": new_room})


ROUTES = [Route("/rooms/{roomId}/upgrade", upgrade, methods=["POST"])]
