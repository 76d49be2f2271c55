"""The requester's own account: whoami, password change, deactivation."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.services.uia import UiaAction


class PasswordChange(msgspec.Struct, frozen=True):
    """Body of `POST /account/password`."""

    new_password: str
    logout_devices: bool = True
    auth: dict[str, Any] | None = None


class Deactivation(msgspec.Struct, frozen=True):
    """Body of `POST /account/deactivate`."""

    auth: dict[str, Any] | None = None
    erase: bool = False
    id_server: str | None = None


async def whoami(request: Request) -> Response:
    """GET /_matrix/client/v3/account/whoami"""
    requester = await require_requester(request)
    body: dict[str, object] = {"user_id": requester.user_id, "is_guest": False}
    if requester.device_id:  # an application service acting without a device has none
        body["device_id"] = requester.device_id
    return JsonResponse(body)


async def change_password(request: Request) -> Response:
    """POST /_matrix/client/v3/account/password"""
    services = services_of(request)
    requester = await require_requester(request)
    body = await decode_body(request, PasswordChange)
    services.accounts.check_password_policy(body.new_password)
    await services.uia.require_reauthentication(requester, body.auth, UiaAction.CHANGE_PASSWORD)
    await services.accounts.change_own_password(
        requester, body.new_password, logout_devices=body.logout_devices
    )
    return empty()


async def deactivate(request: Request) -> Response:
    """POST /_matrix/client/v3/account/deactivate"""
    services = services_of(request)
    requester = await require_requester(request)
    body = await decode_body(request, Deactivation)
    await services.uia.require_reauthentication(requester, body.auth, UiaAction.CLOSE_ACCOUNT)
    # spec: client-server-api#post_matrixclientv3accountdeactivate: `erase` asks that "their
    # content be erased as much as possible from the server"; the one offboarding workflow.
    await services.offboarding.offboard(requester, requester.user_id, erase=body.erase)
    return JsonResponse({"id_server_unbind_result": "no-support"})


ROUTES = [
    Route("/account/whoami", whoami, methods=["GET"]),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/account/deactivate", deactivate, methods=["POST"]),
]
