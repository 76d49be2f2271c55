"""Synapse's device endpoints for one account: `v2/users/{userId}/devices` (list; POST
`device_id` creates a device without a session, 201 `{}`),
`v2/users/{userId}/devices/{deviceId}` (GET, PUT `display_name`, DELETE) and
`v2/users/{userId}/delete_devices` (POST `devices`).

Deleting a device revokes its tokens (the service audits it as `device.delete`). A DELETE may
carry a JSON body (Synapse documents `{}`); it is not read.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.admin.user_data import DeviceRecord


def device_json(device: DeviceRecord) -> dict[str, Any]:
    """A device with Synapse's field names (`display_name` absent when none was set)."""
    body: dict[str, Any] = {
        "device_id": device.device_id,
        "last_seen_ip": device.last_seen_ip,
        "last_seen_user_agent": None,
        "last_seen_ts": device.last_seen_ts,
        "user_id": device.user_id,
        "dehydrated": False,
    }
    if device.display_name is not None:
        body["display_name"] = device.display_name
    return body


async def list_devices(request: Request) -> Response:
    """GET /_synapse/admin/v2/users/{userId}/devices"""
    admin = await require_admin(request)
    user_id = request.path_params["userId"]
    devices = await services_of(request).admin_user_data.list_devices(admin, user_id)
    return JsonResponse({"devices": [device_json(d) for d in devices], "total": len(devices)})


async def get_device(request: Request) -> Response:
    """GET /_synapse/admin/v2/users/{userId}/devices/{deviceId}"""
    admin = await require_admin(request)
    p = request.path_params
    device = await services_of(request).admin_user_data.get_device(
        admin, p["userId"], p["deviceId"]
    )
    return JsonResponse(device_json(device))


class RenameBody(msgspec.Struct, frozen=True):
    """Body of the device PUT: `display_name` (absent: unchanged)."""

    display_name: str | msgspec.UnsetType | None = msgspec.UNSET


async def put_device(request: Request) -> Response:
    """PUT /_synapse/admin/v2/users/{userId}/devices/{deviceId}"""
    admin = await require_admin(request)
    p = request.path_params
    body = await decode_body(request, RenameBody)
    data = services_of(request).admin_user_data
    if isinstance(body.display_name, msgspec.UnsetType):
        await data.get_device(admin, p["userId"], p["deviceId"])  # 404 still applies
    else:
        await data.rename_device(admin, p["userId"], p["deviceId"], body.display_name)
    return empty()


async def delete_device(request: Request) -> Response:
    """DELETE /_synapse/admin/v2/users/{userId}/devices/{deviceId}"""
    admin = await require_admin(request)
    p = request.path_params
    await services_of(request).admin_user_data.delete_devices(admin, p["userId"], [p["deviceId"]])
    return empty()


class CreateDeviceBody(msgspec.Struct, frozen=True):
    """Body of the device POST (`device_id` required)."""

    device_id: str


async def create_device(request: Request) -> Response:
    """POST /_synapse/admin/v2/users/{userId}/devices: 201 `{}`, created or already there."""
    admin = await require_admin(request)
    body = await decode_body(request, CreateDeviceBody)
    if not body.device_id:
        raise MatrixError(400, Errcode.MISSING_PARAM, "Missing device_id")
    user_id = request.path_params["userId"]
    await services_of(request).admin_user_data.create_device(admin, user_id, body.device_id)
    return JsonResponse({}, status_code=201)


class DeleteDevicesBody(msgspec.Struct, frozen=True):
    """Body of `delete_devices`."""

    devices: list[str]


async def delete_devices(request: Request) -> Response:
    """POST /_synapse/admin/v2/users/{userId}/delete_devices"""
    admin = await require_admin(request)
    body = await decode_body(request, DeleteDevicesBody)
    user_id = request.path_params["userId"]
    await services_of(request).admin_user_data.delete_devices(admin, user_id, body.devices)
    return empty()


ROUTES = [
    Route("/v2/users/{userId}/devices", list_devices, methods=["GET"]),
    Route("/v2/users/{userId}/devices", create_device, methods=["POST"]),
    Route("/v2/users/{userId}/devices/{deviceId}", get_device, methods=["GET"]),
    Route("/v2/users/{userId}/devices/{deviceId}", put_device, methods=["PUT"]),
    Route("/v2/users/{userId}/devices/{deviceId}", delete_device, methods=["DELETE"]),
    Route("/v2/users/{userId}/delete_devices", delete_devices, methods=["POST"]),
]
