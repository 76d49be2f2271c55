"""Server-side key backup: `/room_keys/version` and `/room_keys/keys`."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.e2ee.key_backup import BackupVersionBody, KeyBackupData, session_json


class RoomSessions(msgspec.Struct, frozen=True):
    """`{"sessions": {...}}` of one room."""

    sessions: dict[str, KeyBackupData]


class AllRooms(msgspec.Struct, frozen=True):
    """`{"rooms": {...}}` of a whole backup."""

    rooms: dict[str, RoomSessions]


async def create_version(request: Request) -> Response:
    """POST /_matrix/client/v3/room_keys/version"""
    requester = await require_requester(request)
    body = await decode_body(request, BackupVersionBody)
    version = await services_of(request).key_backup.create_version(requester, body)
    return JsonResponse({"version": version})


async def get_version(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/version[/{version}]"""
    requester = await require_requester(request)
    backup = services_of(request).key_backup
    return JsonResponse(await backup.version_info(requester, request.path_params.get("version")))


async def update_version(request: Request) -> Response:
    """PUT /_matrix/client/v3/room_keys/version/{version}"""
    requester = await require_requester(request)
    body = await decode_body(request, BackupVersionBody)
    await services_of(request).key_backup.update_version(
        requester, request.path_params["version"], body
    )
    return empty()


async def delete_version(request: Request) -> Response:
    """DELETE /_matrix/client/v3/room_keys/version/{version}"""
    requester = await require_requester(request)
    await services_of(request).key_backup.delete_version(requester, request.path_params["version"])
    return empty()


async def put_keys(request: Request) -> Response:
    """PUT /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    requester = await require_requester(request)
    room_id, session_id = request.path_params.get("roomId"), request.path_params.get("sessionId")
    if session_id is not None and room_id is not None:
        rooms = {room_id: {session_id: await decode_body(request, KeyBackupData)}}
    elif room_id is not None:
        rooms = {room_id: (await decode_body(request, RoomSessions)).sessions}
    else:
        rooms = {r: s.sessions for r, s in (await decode_body(request, AllRooms)).rooms.items()}
    backup = services_of(request).key_backup
    return JsonResponse(
        await backup.put_keys(requester, request.query_params.get("version"), rooms)
    )


async def get_keys(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    requester = await require_requester(request)
    room_id, session_id = request.path_params.get("roomId"), request.path_params.get("sessionId")
    sessions = await services_of(request).key_backup.get_keys(
        requester, request.query_params.get("version"), room_id, session_id
    )
    if session_id is not None:
        if not sessions:
            raise MatrixError(404, Errcode.NOT_FOUND, "no such session in the backup")
        return JsonResponse(session_json(sessions[0]))
    by_room: dict[str, dict[str, object]] = {}
    for session in sessions:
        by_room.setdefault(session.room_id, {})[session.session_id] = session_json(session)
    if room_id is not None:
        return JsonResponse({"sessions": by_room.get(room_id, {})})
    return JsonResponse({"rooms": {r: {"sessions": s} for r, s in by_room.items()}})


async def delete_keys(request: Request) -> Response:
    """DELETE /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    requester = await require_requester(request)
    room_id, session_id = request.path_params.get("roomId"), request.path_params.get("sessionId")
    backup = services_of(request).key_backup
    result = await backup.delete_keys(
        requester, request.query_params.get("version"), room_id, session_id
    )
    return JsonResponse(result)


ROUTES = [
    Route("/room_keys/version", create_version, methods=["POST"]),
    Route("/room_keys/version", get_version, methods=["GET"]),
    Route("/room_keys/version/{version}", get_version, methods=["GET"]),
    Route("/room_keys/version/{version}", update_version, methods=["PUT"]),
    Route("/room_keys/version/{version}", delete_version, methods=["DELETE"]),
    Route("/room_keys/keys", put_keys, methods=["PUT"]),
    Route("/room_keys/keys", get_keys, methods=["GET"]),
    Route("/room_keys/keys", delete_keys, methods=["DELETE"]),
    Route("/room_keys/keys/{roomId}", put_keys, methods=["PUT"]),
    Route("/room_keys/keys/{roomId}", get_keys, methods=["GET"]),
    Route("/room_keys/keys/{roomId}", delete_keys, methods=["DELETE"]),
    Route("/room_keys/keys/{roomId}/{sessionId}", put_keys, methods=["PUT"]),
    Route("/room_keys/keys/{roomId}/{sessionId}", get_keys, methods=["GET"]),
    Route("/room_keys/keys/{roomId}/{sessionId}", delete_keys, methods=["DELETE"]),
]
