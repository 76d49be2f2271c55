"""SCIM bearer tokens: `GET /scim/tokens`, `POST /scim/tokens` (issue one: the token is in this
answer only), `DELETE /scim/tokens/{name}` (revoke)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body, page_of, path_param
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


class _NewToken(msgspec.Struct, frozen=True):
    name: str


async def list_tokens(request: Request) -> Response:
    """GET /_bastion/admin/v1/scim/tokens"""
    admin = await require_admin(request)
    rows = await services_of(request).scim.tokens.list(admin)
    entries = [
        {"name": r.name, "created_ts": r.created_ts, "last_used_ts": r.last_used_ts} for r in rows
    ]
    return JsonResponse({"entries": entries, "next": None})


async def create_token(request: Request) -> Response:
    """POST /_bastion/admin/v1/scim/tokens {"name": ...}"""
    admin = await require_admin(request)
    body = await decode_body(request, _NewToken)
    token = await services_of(request).scim.tokens.create(admin, body.name)
    return JsonResponse({"name": body.name, "token": token}, status_code=201)


async def revoke_token(request: Request) -> Response:
    """DELETE /_bastion/admin/v1/scim/tokens/{name}"""
    admin = await require_admin(request)
    await services_of(request).scim.tokens.revoke(admin, request.path_params["name"])
    return JsonResponse({})


ROUTES = [
    Route("/scim/tokens", list_tokens, methods=["GET"]),
    Route("/scim/tokens", create_token, methods=["POST"]),
    Route("/scim/tokens/{name}", revoke_token, methods=["DELETE"]),
]

_TOKEN_INFO = {
    "type": "object",
    "required": ["name", "created_ts", "last_used_ts"],
    "properties": {
        "name": {"type": "string"},
        "created_ts": {"type": "integer", "description": "Milliseconds since the epoch"},
        "last_used_ts": {"type": ["integer", "null"], "description": "Last use (minute accuracy)"},
    },
}
OPENAPI = {
    "/scim/tokens": {
        "get": {
            "summary": "The SCIM bearer tokens, by name (never the tokens themselves)",
            "responses": {"200": json_body(page_of(_TOKEN_INFO)), **errors()},
        },
        "post": {
            "summary": "Issue a SCIM bearer token for an identity provider (audited)",
            "requestBody": {
                "required": True,
                **json_body(
                    {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {
                                "type": "string",
                                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                            }
                        },
                    },
                    "The token's name (the SCIM client the audit log names)",
                ),
            },
            "responses": {
                "201": json_body(
                    {
                        "type": "object",
                        "required": ["name", "token"],
                        "properties": {
                            "name": {"type": "string"},
                            "token": {"type": "string", "description": "Shown this once"},
                        },
                    },
                    "Issued",
                ),
                **errors(400),
            },
        },
    },
    "/scim/tokens/{name}": {
        "delete": {
            "summary": "Revoke a SCIM bearer token (audited); it stops at once",
            "parameters": [path_param("name", "The token's name")],
            "responses": {"200": json_body({"type": "object"}), **errors(404)},
        }
    },
}
