"""Synapse's `PUT /_synapse/admin/v1/suspend/{userId}` (body `{"suspend": bool}`), for the tools
written against it; answered as Synapse does, `{"user_<userId>_suspended": bool}`. The same
suspension as the spec's `PUT /_matrix/client/v1/admin/suspend/{userId}`
(api/admin/client_suspend.py, services/suspensions.py)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.client_suspend import set_suspension
from bastion.api.bodies import decode_body
from bastion.api.responses import JsonResponse


class SuspendBody(msgspec.Struct, frozen=True):
    """Synapse's body."""

    suspend: bool


async def suspend(request: Request) -> Response:
    """PUT /_synapse/admin/v1/suspend/{userId}"""
    body = await decode_body(request, SuspendBody)
    suspended = await set_suspension(request, body.suspend)
    return JsonResponse({f"user_{request.path_params['userId']}_suspended": suspended})


ROUTES = [Route("/v1/suspend/{userId}", suspend, methods=["PUT"])]
