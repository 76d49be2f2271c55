"""The spec's account locking for admins: `GET`/`PUT /_matrix/client/v1/admin/lock/{userId}`
(spec: client-server-api#account-locking, v1.18).

Same lock as Synapse's `locked` and the same notion of "locked" as every other reader
(services/admin/users.py): `locked: true` is an admin's lock; `locked: false` ends it and any
lockout after wrong passwords. Admin power is checked before the account is looked up, as the
spec asks ("to prevent user enumeration"); a deactivated account is 404 like a missing one.
Another server admin's account is 403 M_FORBIDDEN (read or changed), and so is changing one's
own (spec v1.18, admin.yaml's 403s): one admin does not lock out another, nor themselves.
Synapse's own admin API (api/admin/synapse/) keeps Synapse's rules.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.admin.users import AdminUserService, UserDetails
from bastion.services.principal import Requester


async def active_user(users: AdminUserService, admin: Requester, user_id: str) -> UserDetails:
    """The account's details; 404 when it is deactivated (or unknown: get_user)."""
    details = await users.get_user(admin, user_id)
    if details.user.is_deactivated:
        raise MatrixError(404, Errcode.NOT_FOUND, f"{user_id} is deactivated")
    return details


async def moderated_user(
    users: AdminUserService, admin: Requester, user_id: str, *, changing: bool
) -> UserDetails:
    """`active_user`, refusing another admin's account and (`changing`) one's own (403)."""
    details = await active_user(users, admin, user_id)
    if user_id == admin.user_id:
        if changing:
            raise MatrixError(403, Errcode.FORBIDDEN, "You cannot do this to your own account")
    elif details.user.is_admin:
        raise MatrixError(403, Errcode.FORBIDDEN, f"{user_id} is a server administrator like you")
    return details


async def get_lock(request: Request) -> Response:
    """GET /_matrix/client/v1/admin/lock/{userId}"""
    admin = await require_admin(request)
    users = services_of(request).admin_users
    details = await moderated_user(users, admin, request.path_params["userId"], changing=False)
    return JsonResponse({"locked": details.is_locked})


class LockBody(msgspec.Struct, frozen=True):
    """Body of the PUT: whether to lock the account."""

    locked: bool


async def put_lock(request: Request) -> Response:
    """PUT /_matrix/client/v1/admin/lock/{userId}"""
    admin = await require_admin(request)
    body = await decode_body(request, LockBody)
    users = services_of(request).admin_users
    user_id = request.path_params["userId"]
    await moderated_user(users, admin, user_id, changing=True)
    details = await users.set_locked(admin, user_id, body.locked)
    return JsonResponse({"locked": details.is_locked})


V1_ROUTES = [
    Route("/admin/lock/{userId}", get_lock, methods=["GET"]),
    Route("/admin/lock/{userId}", put_lock, methods=["PUT"]),
]
