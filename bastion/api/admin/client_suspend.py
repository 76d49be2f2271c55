"""The spec's account suspension for admins: `GET`/`PUT /_matrix/client/v1/admin/suspend/{userId}`
(spec: client-server-api#account-suspension, v1.18; services/suspensions.py).

As for locking (client_lock.py): admin power is checked before the account is looked up ("to
prevent user enumeration"); an unknown or deactivated account is 404; another admin's account,
and changing one's own, are 403.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.client_lock import active_user, moderated_user
from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


async def get_suspension(request: Request) -> Response:
    """GET /_matrix/client/v1/admin/suspend/{userId}"""
    admin = await require_admin(request)
    services = services_of(request)
    user_id = request.path_params["userId"]
    details = await moderated_user(services.admin_users, admin, user_id, changing=False)
    return JsonResponse({"suspended": details.user.suspended})


class SuspendBody(msgspec.Struct, frozen=True):
    """Body of the PUT: whether the account is to be suspended."""

    suspended: bool


async def put_suspension(request: Request) -> Response:
    """PUT /_matrix/client/v1/admin/suspend/{userId}"""
    body = await decode_body(request, SuspendBody)
    suspended = await set_suspension(request, body.suspended, spec_rules=True)
    return JsonResponse({"suspended": suspended})


async def set_suspension(request: Request, suspend: bool, *, spec_rules: bool = False) -> bool:
    """Suspend or unsuspend `{userId}` for an admin (checked before the account is looked up,
    as the spec asks); whether it is suspended now. Synapse's endpoint answers through it too,
    without the spec's refusals of admins' accounts (`spec_rules`)."""
    admin = await require_admin(request)
    services = services_of(request)
    user_id = request.path_params["userId"]
    if spec_rules:
        await moderated_user(services.admin_users, admin, user_id, changing=True)
    else:
        await active_user(services.admin_users, admin, user_id)
    return await services.suspensions.set_suspended(admin, user_id, suspend)


V1_ROUTES = [
    Route("/admin/suspend/{userId}", get_suspension, methods=["GET"]),
    Route("/admin/suspend/{userId}", put_suspension, methods=["PUT"]),
]
