"""Synapse's per-account settings an admin reads and changes on their own:
`GET`/`PUT /_synapse/admin/v1/users/{userId}/admin` (whether the account is a server admin; an
admin cannot demote themself) and
`GET`/`POST`/`DELETE /_synapse/admin/v1/users/{userId}/override_ratelimit` (an account's own
request limit: services/ratelimit.py `AccountLimits`) and
`POST`/`DELETE /_synapse/admin/v1/users/{userId}/shadow_ban` (services/shadow_ban.py; `{}` both
ways, as Synapse; the user details' `shadow_banned` reads it).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin, required
from bastion.api.bodies import decode_body, decode_optional_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


class AdminFlagBody(msgspec.Struct, frozen=True):
    """`{"admin": true|false}`; a missing flag is M_MISSING_PARAM, as in Synapse."""

    admin: bool | None = None


async def get_admin(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/admin"""
    admin = await require_admin(request)
    details = await services_of(request).admin_users.get_user(admin, request.path_params["userId"])
    return JsonResponse({"admin": details.user.is_admin})


async def set_admin(request: Request) -> Response:
    """PUT /_synapse/admin/v1/users/{userId}/admin"""
    admin = await require_admin(request)
    flag = required((await decode_body(request, AdminFlagBody)).admin, "admin")
    await services_of(request).admin_users.set_admin(admin, request.path_params["userId"], flag)
    return JsonResponse({})


class RatelimitBody(msgspec.Struct, frozen=True):
    """Synapse's override: both default to 0 (no limit at all)."""

    messages_per_second: int = 0
    burst_count: int = 0


async def get_ratelimit(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/override_ratelimit: `{}` when none is set."""
    admin = await require_admin(request)
    users = services_of(request).admin_users
    override = await users.ratelimit(admin, request.path_params["userId"])
    if override is None:
        return JsonResponse({})
    return JsonResponse({"messages_per_second": override[0], "burst_count": override[1]})


async def set_ratelimit(request: Request) -> Response:
    """POST /_synapse/admin/v1/users/{userId}/override_ratelimit"""
    admin = await require_admin(request)
    body = await decode_optional_body(request, RatelimitBody)
    override = (body.messages_per_second, body.burst_count)
    await services_of(request).admin_users.set_ratelimit(
        admin, request.path_params["userId"], override
    )
    return JsonResponse({"messages_per_second": override[0], "burst_count": override[1]})


async def delete_ratelimit(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/users/{userId}/override_ratelimit"""
    admin = await require_admin(request)
    await services_of(request).admin_users.set_ratelimit(admin, request.path_params["userId"], None)
    return JsonResponse({})


async def shadow_ban(request: Request) -> Response:
    """POST /_synapse/admin/v1/users/{userId}/shadow_ban"""
    admin = await require_admin(request)
    users = services_of(request).admin_users
    await users.set_shadow_banned(admin, request.path_params["userId"], True)
    return JsonResponse({})


async def lift_shadow_ban(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/users/{userId}/shadow_ban"""
    admin = await require_admin(request)
    users = services_of(request).admin_users
    await users.set_shadow_banned(admin, request.path_params["userId"], False)
    return JsonResponse({})


ROUTES = [
    Route("/v1/users/{userId}/shadow_ban", shadow_ban, methods=["POST"]),
    Route("/v1/users/{userId}/shadow_ban", lift_shadow_ban, methods=["DELETE"]),
    Route("/v1/users/{userId}/override_ratelimit", get_ratelimit, methods=["GET"]),
    Route("/v1/users/{userId}/override_ratelimit", set_ratelimit, methods=["POST"]),
    Route("/v1/users/{userId}/override_ratelimit", delete_ratelimit, methods=["DELETE"]),
    Route("/v1/users/{userId}/admin", get_admin, methods=["GET"]),
    Route("/v1/users/{userId}/admin", set_admin, methods=["PUT"]),
]
