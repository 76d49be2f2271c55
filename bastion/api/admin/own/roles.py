"""User roles: `GET` and `PUT /users/{userId}/roles` (`{"roles": ["compliance"]}`), admins only."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body, path_param
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


class RolesBody(msgspec.Struct, frozen=True):
    roles: list[str]


async def get_roles(request: Request) -> Response:
    """GET /_bastion/admin/v1/users/{userId}/roles"""
    admin = await require_admin(request)
    roles = await services_of(request).roles.roles_of(admin, request.path_params["userId"])
    return JsonResponse({"roles": roles})


async def put_roles(request: Request) -> Response:
    """PUT /_bastion/admin/v1/users/{userId}/roles `{"roles": [...]}` (replaces them; audited)"""
    admin = await require_admin(request)
    body = await decode_body(request, RolesBody)
    user_id = request.path_params["userId"]
    roles = await services_of(request).roles.set_roles(admin, user_id, body.roles)
    return JsonResponse({"roles": roles})


ROUTES = [
    Route("/users/{userId}/roles", get_roles, methods=["GET"]),
    Route("/users/{userId}/roles", put_roles, methods=["PUT"]),
]

_ROLES = {
    "type": "object",
    "required": ["roles"],
    "properties": {"roles": {"type": "array", "items": {"enum": ["compliance"]}}},
}
_USER = [path_param("userId", "The user's ID")]
OPENAPI = {
    "/users/{userId}/roles": {
        "get": {
            "summary": "A user's roles",
            "parameters": _USER,
            "responses": {"200": json_body(_ROLES), **errors()},
        },
        "put": {
            "summary": "Replace a user's roles (`compliance`: may place and release legal holds)",
            "parameters": _USER,
            "requestBody": {"required": True, **json_body(_ROLES, "The roles")},
            "responses": {"200": json_body(_ROLES), **errors(400)},
        },
    }
}
