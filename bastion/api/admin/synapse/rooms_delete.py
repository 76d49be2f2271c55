"""Synapse's Delete Room API: `DELETE /_synapse/admin/v2/rooms/{roomId}` (a background job,
answering `delete_id`), its status by `delete_id` or by room, and the older synchronous
`DELETE /_synapse/admin/v1/rooms/{roomId}` (schedules the same job and runs it before
answering). The job itself: services/admin/room_deletion.py.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.events.typed_json import decode_as
from bastion.services.admin.room_deletion import DeletionOptions, DeletionResult, DeletionStatus


async def _options(request: Request) -> DeletionOptions:
    raw = await request.body()
    if not raw.strip():  # Synapse asks for at least `{}`; an empty body means the defaults
        return DeletionOptions()
    return decode_as(raw, DeletionOptions, what="request body")


def shutdown_room(result: DeletionResult) -> dict[str, Any]:
    """Synapse's `shutdown_room` object."""
    return {
        "kicked_users": result.kicked_users,
        "failed_to_kick_users": result.failed_to_kick_users,
        "local_aliases": result.local_aliases,
        "new_room_id": result.new_room_id,
    }


def status_fields(status: DeletionStatus) -> dict[str, Any]:
    """One task as Synapse's status endpoints show it (`error` only when failed)."""
    body: dict[str, Any] = {
        "delete_id": status.delete_id,
        "room_id": status.room_id,
        "status": status.status,
        "shutdown_room": shutdown_room(status.result),
    }
    if status.error is not None:
        body["error"] = status.error
    return body


async def delete_room_v2(request: Request) -> Response:
    """DELETE /_synapse/admin/v2/rooms/{roomId}"""
    admin = await require_admin(request)
    options = await _options(request)
    deletion = services_of(request).room_deletion
    delete_id = await deletion.schedule(admin, request.path_params["roomId"], options)
    return JsonResponse({"delete_id": delete_id})


async def delete_room_v1(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/rooms/{roomId}"""
    admin = await require_admin(request)
    options = await _options(request)
    deletion = services_of(request).room_deletion
    delete_id = await deletion.schedule(admin, request.path_params["roomId"], options)
    await deletion.run_pending()
    status = await deletion.status(admin, delete_id)
    return JsonResponse(shutdown_room(status.result))


async def status_by_id(request: Request) -> Response:
    """GET /_synapse/admin/v2/rooms/delete_status/{deleteId}"""
    admin = await require_admin(request)
    status = await services_of(request).room_deletion.status(admin, request.path_params["deleteId"])
    return JsonResponse(status_fields(status))


async def status_by_room(request: Request) -> Response:
    """GET /_synapse/admin/v2/rooms/{roomId}/delete_status"""
    admin = await require_admin(request)
    statuses = await services_of(request).room_deletion.statuses_of_room(
        admin, request.path_params["roomId"]
    )
    return JsonResponse({"results": [status_fields(s) for s in statuses]})


ROUTES = [
    Route("/v2/rooms/delete_status/{deleteId}", status_by_id, methods=["GET"]),
    Route("/v2/rooms/{roomId}/delete_status", status_by_room, methods=["GET"]),
    Route("/v2/rooms/{roomId}", delete_room_v2, methods=["DELETE"]),
    Route("/v1/rooms/{roomId}", delete_room_v1, methods=["DELETE"]),
]
