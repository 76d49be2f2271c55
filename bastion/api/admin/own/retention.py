"""The retention purge on demand: `POST /retention/purge` (`{"dry_run": true}` counts only)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.admin.own.openapi import errors, json_body
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse


class PurgeBody(msgspec.Struct, frozen=True):
    dry_run: bool = False


async def purge(request: Request) -> Response:
    """POST /_bastion/admin/v1/retention/purge `{"dry_run": bool}` → what was (would be) deleted"""
    admin = await require_admin(request)
    body = await decode_body(request, PurgeBody) if await request.body() else PurgeBody()
    services = services_of(request)
    report = await services.retention_purge.run(admin, dry_run=body.dry_run)
    return JsonResponse(msgspec.to_builtins(report))


ROUTES = [Route("/retention/purge", purge, methods=["POST"])]

_REPORT = {
    "type": "object",
    "properties": {
        "dry_run": {"type": "boolean"},
        "events": {"type": "integer", "description": "Expired message events deleted"},
        "rooms": {"type": "integer", "description": "Rooms that had expired events"},
        "redacted_originals": {"type": "integer", "description": "Redacted originals pruned"},
        "complete": {"type": "boolean"},
    },
}
OPENAPI = {
    "/retention/purge": {
        "post": {
            "summary": "Run a retention purge pass now; with dry_run, count what it would delete"
            " and delete nothing (audited as retention.purge)",
            "requestBody": {
                "required": False,
                **json_body(
                    {"type": "object", "properties": {"dry_run": {"type": "boolean"}}}, "Options"
                ),
            },
            "responses": {"200": json_body(_REPORT), **errors(400)},
        }
    }
}
