"""The organisation policy document: `GET /policy` and `PUT /policy` (a new version)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body
from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.policy.document import policy_json


async def get_policy(request: Request) -> Response:
    """GET /_bastion/admin/v1/policy: `{"version": n, ...document}`"""
    admin = await require_admin(request)
    version, document = await services_of(request).policy.get(admin)
    return JsonResponse({"version": version, **policy_json(document)})


async def put_policy(request: Request) -> Response:
    """PUT /_bastion/admin/v1/policy with the whole document (and optionally the `version` it was
    read at: 409 if stale); answers `{"version": new, ...document}`."""
    admin = await require_admin(request)
    body = await decode_object(request)
    expected = body.pop("version", None)
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool)):
        raise MatrixError(400, Errcode.BAD_JSON, "version must be an integer")
    policy = services_of(request).policy
    await policy.replace(admin, body, expected_version=expected)
    version, document = await policy.current_version()
    return JsonResponse({"version": version, **policy_json(document)})


ROUTES = [
    Route("/policy", get_policy, methods=["GET"]),
    Route("/policy", put_policy, methods=["PUT"]),
]

_DOCUMENT = {
    "type": "object",
    "description": "`version` and the policy document's sections (docs/governance.md): `rooms`,"
    " `acceptable_use`; an unknown field is refused",
    "properties": {"version": {"type": "integer"}},
}
OPENAPI = {
    "/policy": {
        "get": {
            "summary": "The organisation policy in force",
            "responses": {"200": json_body(_DOCUMENT), **errors()},
        },
        "put": {
            "summary": "Put a new version of the policy in force (audited with its diff); with"
            " `version`, refused with 409 if the policy changed since that version",
            "requestBody": {"required": True, **json_body(_DOCUMENT, "The whole document")},
            "responses": {"200": json_body(_DOCUMENT), **errors(400, 409)},
        },
    }
}
