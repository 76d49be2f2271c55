"""The requester's devices (an application service also creates its users' devices)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body, decode_optional_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.devices import DeviceRecord


class DeviceUpdate(msgspec.Struct, frozen=True):
    """Body of `PUT /devices/{deviceId}`."""

    display_name: str | None = None


class DeleteDevices(msgspec.Struct, frozen=True):
    """Body of `POST /delete_devices`."""

    devices: list[str]
    auth: dict[str, Any] | None = None


def _device_json(device: DeviceRecord) -> dict[str, object]:
    return {
        "device_id": device.device_id,
        "display_name": device.display_name,
        "last_seen_ip": device.last_seen_ip,
        "last_seen_ts": device.last_seen_ts,
    }


async def list_devices(request: Request) -> Response:
    """GET /_matrix/client/v3/devices"""
    requester = await require_requester(request)
    devices = await services_of(request).devices.list_devices(requester)
    return JsonResponse({"devices": [_device_json(d) for d in devices]})


async def get_device(request: Request) -> Response:
    """GET /_matrix/client/v3/devices/{deviceId}"""
    requester = await require_requester(request)
    device_id = request.path_params["deviceId"]
    device = await services_of(request).devices.get_device(requester, device_id)
    return JsonResponse(_device_json(device))


async def update_device(request: Request) -> Response:
    """PUT /_matrix/client/v3/devices/{deviceId}

    201 when an application service created the device, 200 when it was updated (spec v1.17).
    """
    requester = await require_requester(request)
    body = await decode_body(request, DeviceUpdate)
    device_id = request.path_params["deviceId"]
    devices = services_of(request).devices
    created = await devices.put_device(requester, device_id, body.display_name)
    return JsonResponse({}, status_code=201) if created else empty()


async def delete_device(request: Request) -> Response:
    """DELETE /_matrix/client/v3/devices/{deviceId}"""
    requester = await require_requester(request)
    body = await decode_optional_object(request)
    auth = body.get("auth")
    if auth is not None and not isinstance(auth, dict):
        raise MatrixError(400, Errcode.BAD_JSON, "auth must be an object")
    device_id = request.path_params["deviceId"]
    services = services_of(request)
    await services.devices.get_device(requester, device_id)
    await services.devices.delete_devices(requester, [device_id], auth)
    return empty()


async def delete_devices(request: Request) -> Response:
    """POST /_matrix/client/v3/delete_devices"""
    requester = await require_requester(request)
    body = await decode_body(request, DeleteDevices)
    await services_of(request).devices.delete_devices(requester, body.devices, body.auth)
    return empty()


ROUTES = [
    Route("/devices", list_devices, methods=["GET"]),
    Route("/devices/{deviceId:path}", get_device, methods=["GET"]),
    Route("/devices/{deviceId:path}", update_device, methods=["PUT"]),
    Route("/devices/{deviceId:path}", delete_device, methods=["DELETE"]),
    Route("/delete_devices", delete_devices, methods=["POST"]),
]
