"""Creating rooms and changing membership."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.services.rooms.create import CreateRoomRequest


class ReasonBody(msgspec.Struct, frozen=True):
    """Body of join, leave and knock."""

    reason: str | None = None


class TargetBody(msgspec.Struct, frozen=True):
    """Body of invite, kick, ban and unban."""

    user_id: str
    reason: str | None = None


async def _optional_reason(request: Request) -> str | None:
    if not (await request.body()).strip():
        return None
    return (await decode_body(request, ReasonBody)).reason


async def create_room(request: Request) -> Response:
    """POST /_matrix/client/v3/createRoom"""
    requester = await require_requester(request)
    services = services_of(request)
    body = await decode_body(request, CreateRoomRequest)
    if body.room_version is None:  # the server's default: [rooms] default_version
        body = msgspec.structs.replace(body, room_version=services.info.default_room_version)
    room_id = await services.rooms.create_room(requester, body)
    return JsonResponse({"room_id": room_id})


async def join(request: Request) -> Response:
    """POST /_matrix/client/v3/join/{roomIdOrAlias} and /rooms/{roomId}/join"""
    requester = await require_requester(request)
    target = request.path_params.get("roomIdOrAlias") or request.path_params["roomId"]
    reason = await _optional_reason(request)
    room_id = await services_of(request).membership.join(requester, target, reason)
    return JsonResponse({"room_id": room_id})


async def knock(request: Request) -> Response:
    """POST /_matrix/client/v3/knock/{roomIdOrAlias}"""
    requester = await require_requester(request)
    reason = await _optional_reason(request)
    membership = services_of(request).membership
    room_id = await membership.knock(requester, request.path_params["roomIdOrAlias"], reason)
    return JsonResponse({"room_id": room_id})


async def leave(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/leave"""
    requester = await require_requester(request)
    reason = await _optional_reason(request)
    await services_of(request).membership.leave(requester, request.path_params["roomId"], reason)
    return empty()


async def forget(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/forget"""
    requester = await require_requester(request)
    await services_of(request).membership.forget(requester, request.path_params["roomId"])
    return empty()


async def _targeted(request: Request, action: str) -> Response:
    requester = await require_requester(request)
    body = await decode_body(request, TargetBody)
    membership = services_of(request).membership
    operation = getattr(membership, action)
    await operation(requester, request.path_params["roomId"], body.user_id, body.reason)
    return empty()


async def invite(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/invite"""
    return await _targeted(request, "invite")


async def kick(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/kick"""
    return await _targeted(request, "kick")


async def ban(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/ban"""
    return await _targeted(request, "ban")


async def unban(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/unban"""
    return await _targeted(request, "unban")


async def joined_rooms(request: Request) -> Response:
    """GET /_matrix/client/v3/joined_rooms"""
    requester = await require_requester(request)
    rooms = await services_of(request).membership.joined_rooms(requester)
    return JsonResponse({"joined_rooms": rooms})


ROUTES = [
    Route("/createRoom", create_room, methods=["POST"]),
    Route("/join/{roomIdOrAlias}", join, methods=["POST"]),
    Route("/knock/{roomIdOrAlias}", knock, methods=["POST"]),
    Route("/rooms/{roomId}/join", join, methods=["POST"]),
    Route("/rooms/{roomId}/leave", leave, methods=["POST"]),
    Route("/rooms/{roomId}/forget", forget, methods=["POST"]),
    Route("/rooms/{roomId}/invite", invite, methods=["POST"]),
    Route("/rooms/{roomId}/kick", kick, methods=["POST"]),
    Route("/rooms/{roomId}/ban", ban, methods=["POST"]),
    Route("/rooms/{roomId}/unban", unban, methods=["POST"]),
    Route("/joined_rooms", joined_rooms, methods=["GET"]),
]
