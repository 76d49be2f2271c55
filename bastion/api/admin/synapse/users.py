"""Synapse's account endpoints: `v2/users` and `v3/users` (list), `v2/users/{userId}` (GET, PUT)
and `v1/reset_password/{userId}`, with Synapse's parameters and field names.

Synapse's quirks are kept because the tools read them: `creation_ts` is in milliseconds in the
lists but in seconds in a single user's details; `next_token` is a string, present only while
more users follow; v2's `deactivated=false` (the default) hides deactivated accounts and `true`
shows all, where v3's filters both ways; `locked=false` (the default) hides locked accounts.
Fields Bastion has no notion of answer their neutral value (`is_guest` false, `user_type` null).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import bool_param, int_param, require_admin, required
from bastion.api.bodies import decode_body
from bastion.api.context import Services, services_of
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.admin.users import UserChanges, UserDetails, UserListQuery, UserListRow
from bastion.services.principal import Requester

MAX_LIMIT = 1000


def optional_bool(request: Request, name: str) -> bool | None:
    """A `true`/`false` query parameter that filters only when present."""
    if request.query_params.get(name) in (None, ""):
        return None
    return bool_param(request, name, False)


def direction_backwards(request: Request) -> bool:
    """Synapse's `dir`: `f` (the default) or `b`; 400 M_INVALID_PARAM otherwise."""
    value = request.query_params.get("dir", "f")
    if value not in ("f", "b"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "Query parameter 'dir' must be f or b")
    return value == "b"


def list_entry(row: UserListRow) -> dict[str, Any]:
    """A user as `GET /_synapse/admin/v2/users` lists it (`creation_ts` in ms)."""
    return {
        "name": row.user_id,
        "user_type": None,
        "is_guest": False,
        "admin": row.is_admin,
        "deactivated": row.is_deactivated,
        "erased": False,
        "shadow_banned": row.shadow_banned,
        "displayname": row.displayname,
        "avatar_url": row.avatar_url,
        "creation_ts": row.created_ts,
        "last_seen_ts": row.last_seen_ts,
        "locked": row.is_locked,
        "approved": True,
    }


def user_details(details: UserDetails) -> dict[str, Any]:
    """A user as `GET /_synapse/admin/v2/users/{userId}` shows it (`creation_ts` in seconds)."""
    user = details.user
    return {
        "name": user.user_id,
        "displayname": details.profile.displayname,
        "threepids": [],
        "avatar_url": details.profile.avatar_url,
        "is_guest": False,
        "admin": user.is_admin,
        "deactivated": user.is_deactivated,
        "erased": False,
        "shadow_banned": user.shadow_banned,
        "creation_ts": user.created_ts // 1000,
        "last_seen_ts": details.last_seen_ts,
        "appservice_id": None,
        "consent_server_notice_sent": None,
        "consent_version": None,
        "consent_ts": None,
        "external_ids": [
            {"auth_provider": provider, "external_id": subject}
            for provider, subject in details.external_ids
        ],
        "user_type": None,
        "locked": details.is_locked,
        "suspended": user.suspended,
        "approved": True,
    }


async def _list(request: Request, deactivated: bool | None) -> Response:
    admin = await require_admin(request)
    start = int_param(request, "from", 0)
    limit = min(int_param(request, "limit", 100), MAX_LIMIT)
    query = UserListQuery(
        user_id=request.query_params.get("user_id") or None,
        name=request.query_params.get("name") or None,
        deactivated=deactivated,
        admins=optional_bool(request, "admins"),
        locked=None if bool_param(request, "locked", False) else False,
        order_by=request.query_params.get("order_by") or "name",
        backwards=direction_backwards(request),
        start=start,
        limit=limit,
    )
    rows, total = await services_of(request).admin_users.list_users(admin, query)
    body: dict[str, Any] = {"users": [list_entry(row) for row in rows], "total": total}
    if start + limit < total:
        body["next_token"] = str(start + len(rows))
    return JsonResponse(body)


async def list_users_v2(request: Request) -> Response:
    """GET /_synapse/admin/v2/users"""
    return await _list(request, None if bool_param(request, "deactivated", False) else False)


async def list_users_v3(request: Request) -> Response:
    """GET /_synapse/admin/v3/users"""
    return await _list(request, optional_bool(request, "deactivated"))


async def get_user(request: Request) -> Response:
    """GET /_synapse/admin/v2/users/{userId}"""
    admin = await require_admin(request)
    details = await services_of(request).admin_users.get_user(admin, request.path_params["userId"])
    return JsonResponse(user_details(details))


async def deactivate(services: Services, admin: Requester, user_id: str) -> None:
    """Deactivation from the admin API: the offboarding workflow (sessions, successors, rooms)."""
    await services.offboarding.offboard(admin, user_id, erase=False)


async def put_user(request: Request) -> Response:
    """PUT /_synapse/admin/v2/users/{userId}: 201 with the new user, 200 with the modified one."""
    admin = await require_admin(request)
    user_id = request.path_params["userId"]
    changes = await decode_body(request, UserChanges)
    services = services_of(request)
    outcome = await services.admin_users.put_user(admin, user_id, changes)
    if outcome.deactivate:
        await deactivate(services, admin, user_id)
    details = await services.admin_users.get_user(admin, user_id)
    return JsonResponse(user_details(details), status_code=201 if outcome.created else 200)


class ResetPasswordBody(msgspec.Struct, frozen=True):
    """Body of `POST /_synapse/admin/v1/reset_password/{userId}` (unknown fields ignored)."""

    new_password: str | None = None
    logout_devices: bool = True


async def reset_password(request: Request) -> Response:
    """POST /_synapse/admin/v1/reset_password/{userId}"""
    admin = await require_admin(request)
    body = await decode_body(request, ResetPasswordBody)
    await services_of(request).admin_users.reset_password(
        admin,
        request.path_params["userId"],
        required(body.new_password, "new_password"),
        logout_devices=body.logout_devices,
    )
    return empty()


async def user_by_external_id(request: Request) -> Response:
    """GET /_synapse/admin/v1/auth_providers/{provider}/users/{externalId}"""
    admin = await require_admin(request)
    provider, subject = request.path_params["provider"], request.path_params["externalId"]
    user_id = await services_of(request).admin_users.user_of_external_id(admin, provider, subject)
    return JsonResponse({"user_id": user_id})


async def username_available(request: Request) -> Response:
    """GET /_synapse/admin/v1/username_available?username="""
    admin = await require_admin(request)
    username = request.query_params.get("username")
    if not username:
        raise MatrixError(400, Errcode.MISSING_PARAM, "username is required")
    await services_of(request).admin_users.username_available(admin, username)
    return JsonResponse({"available": True})


ROUTES = [
    Route("/v1/username_available", username_available, methods=["GET"]),
    Route("/v2/users", list_users_v2, methods=["GET"]),
    Route("/v3/users", list_users_v3, methods=["GET"]),
    Route("/v2/users/{userId}", get_user, methods=["GET"]),
    Route("/v2/users/{userId}", put_user, methods=["PUT"]),
    Route("/v1/auth_providers/{provider}/users/{externalId}", user_by_external_id, methods=["GET"]),
    Route("/v1/reset_password/{userId}", reset_password, methods=["POST"]),
]
