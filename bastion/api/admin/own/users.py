"""Accounts in Bastion's own admin API: what Synapse's lacks.

`GET /users/{userId}` and `PUT /users/{userId}` (the `manager`: a local account other than the
user itself, or null), and `POST /users/{userId}/unlock` (ends both the wrong-password lockout
and an admin's lock, without touching the password). Each change is audited by the service
(`user.set_manager`, `user.unlock`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body, path_param
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.admin.users import UserDetails


def user_json(details: UserDetails) -> dict[str, Any]:
    """An account's governance facts."""
    user = details.user
    return {
        "user_id": user.user_id,
        "displayname": details.profile.displayname,
        "admin": user.is_admin,
        "deactivated": user.is_deactivated,
        "manager": user.manager,
        "locked": details.is_locked,
        "admin_locked": user.admin_locked,
        "locked_until_ts": user.locked_until_ts or None,
        "created_ts": user.created_ts,
        "last_seen_ts": details.last_seen_ts,
    }


async def get_user(request: Request) -> Response:
    """GET /_bastion/admin/v1/users/{userId}"""
    admin = await require_admin(request)
    details = await services_of(request).admin_users.get_user(admin, request.path_params["userId"])
    return JsonResponse(user_json(details))


class UserBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of `PUT /users/{userId}`: the fields to change."""

    manager: str | msgspec.UnsetType | None = msgspec.UNSET


async def put_user(request: Request) -> Response:
    """PUT /_bastion/admin/v1/users/{userId}"""
    admin = await require_admin(request)
    body = await decode_body(request, UserBody)
    user_id = request.path_params["userId"]
    users = services_of(request).admin_users
    if isinstance(body.manager, msgspec.UnsetType):
        raise MatrixError(400, Errcode.MISSING_PARAM, "Nothing to change: give 'manager'")
    details = await users.set_manager(admin, user_id, body.manager)
    return JsonResponse(user_json(details))


async def unlock(request: Request) -> Response:
    """POST /_bastion/admin/v1/users/{userId}/unlock"""
    admin = await require_admin(request)
    users = services_of(request).admin_users
    details = await users.set_locked(admin, request.path_params["userId"], locked=False)
    return JsonResponse(user_json(details))


ROUTES = [
    Route("/users/{userId}", get_user, methods=["GET"]),
    Route("/users/{userId}", put_user, methods=["PUT"]),
    Route("/users/{userId}/unlock", unlock, methods=["POST"]),
]

_USER = {
    "type": "object",
    "required": ["user_id", "admin", "deactivated", "manager", "locked"],
    "properties": {
        "user_id": {"type": "string"},
        "displayname": {"type": ["string", "null"]},
        "admin": {"type": "boolean"},
        "deactivated": {"type": "boolean"},
        "manager": {
            "type": ["string", "null"],
            "description": "Who succeeds the user as room admin when they are offboarded",
        },
        "locked": {
            "type": "boolean",
            "description": "Locked by an admin, or locked out after wrong passwords",
        },
        "admin_locked": {"type": "boolean", "description": "Locked by an admin until unlocked"},
        "locked_until_ts": {
            "type": ["integer", "null"],
            "description": "When the lockout after wrong passwords ends (ms); null if none",
        },
        "created_ts": {"type": "integer"},
        "last_seen_ts": {"type": ["integer", "null"]},
    },
}
_USER_ID = path_param("userId", "A local user ID, e.g. `@alice:example.org`")
OPENAPI = {
    "/users/{userId}": {
        "get": {
            "summary": "An account's governance facts",
            "parameters": [_USER_ID],
            "responses": {"200": json_body(_USER), **errors(400, 404)},
        },
        "put": {
            "summary": "Set an account's manager (audited as user.set_manager)",
            "parameters": [_USER_ID],
            "requestBody": {
                "required": True,
                **json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "manager": {
                                "type": ["string", "null"],
                                "description": "An existing local user other than this one; "
                                "null clears it",
                            }
                        },
                    },
                    "The fields to change",
                ),
            },
            "responses": {"200": json_body(_USER), **errors(400, 404)},
        },
    },
    "/users/{userId}/unlock": {
        "post": {
            "summary": "End the lockout and an admin's lock; the password is unchanged "
            "(audited as user.unlock)",
            "parameters": [_USER_ID],
            "responses": {"200": json_body(_USER), **errors(400, 404)},
        }
    },
}
