"""Legal holds: `POST /holds`, `GET /holds`, `POST /holds/{holdId}/release`.

Server admins and users with the `compliance` role (the service checks: services/legal_hold/).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import int_param
from bastion.api.admin.own.openapi import errors, json_body, page_of, path_param, query
from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.services.legal_hold.holds import HoldRow, HoldSpec

MAX_PAGE = 1000


def hold_json(hold: HoldRow) -> dict[str, Any]:
    return {
        "hold_id": hold.hold_id, "case": hold.case, "reason": hold.reason, "users": hold.users,
        "rooms": hold.rooms, "created_by": hold.created_by, "created_ts": hold.created_ts,
        "released_by": hold.released_by, "released_ts": hold.released_ts,
        "active": hold.released_ts is None,
    }  # fmt: skip


async def place_hold(request: Request) -> Response:
    """POST /_bastion/admin/v1/holds `{"case", "reason", "users", "rooms"}` → `{"hold_id"}`"""
    requester = await require_requester(request)
    spec = await decode_body(request, HoldSpec)
    hold = await services_of(request).legal_holds.place(requester, spec)
    return JsonResponse({"hold_id": hold.hold_id})


async def list_holds(request: Request) -> Response:
    """GET /_bastion/admin/v1/holds?from=&limit="""
    requester = await require_requester(request)
    limit = int_param(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    after = request.query_params.get("from", "")
    holds = await services_of(request).legal_holds.list(requester, after=after, limit=limit + 1)
    page = holds[:limit]
    next_token = page[-1].hold_id if len(holds) > limit else None
    return JsonResponse({"entries": [hold_json(h) for h in page], "next": next_token})


async def release_hold(request: Request) -> Response:
    """POST /_bastion/admin/v1/holds/{holdId}/release"""
    requester = await require_requester(request)
    hold_id = request.path_params["holdId"]
    hold = await services_of(request).legal_holds.release(requester, hold_id)
    return JsonResponse(hold_json(hold))


ROUTES = [
    Route("/holds", place_hold, methods=["POST"]),
    Route("/holds", list_holds, methods=["GET"]),
    Route("/holds/{holdId}/release", release_hold, methods=["POST"]),
]

_IDS = {"type": "array", "items": {"type": "string"}}
_HOLD = {
    "type": "object",
    "properties": {
        "hold_id": {"type": "string"},
        "case": {"type": "string"},
        "reason": {"type": "string"},
        "users": _IDS,
        "rooms": _IDS,
        "created_by": {"type": "string"},
        "created_ts": {"type": "integer"},
        "released_by": {"type": ["string", "null"]},
        "released_ts": {"type": ["integer", "null"]},
        "active": {"type": "boolean"},
    },
}
_SPEC = {
    "type": "object",
    "required": ["case"],
    "properties": {
        "case": {"type": "string"},
        "reason": {"type": "string"},
        "users": _IDS,
        "rooms": _IDS,
    },
}
OPENAPI = {
    "/holds": {
        "post": {
            "summary": "Place a legal hold on users and/or rooms (admins and the compliance role;"
            " audited as hold.place)",
            "requestBody": {"required": True, **json_body(_SPEC, "What the hold covers")},
            "responses": {
                "200": json_body({"type": "object", "properties": {"hold_id": {"type": "string"}}}),
                **errors(400),
            },
        },
        "get": {
            "summary": "List legal holds in the order they were placed",
            "parameters": [
                query("from", {"type": "string"}, "`next` of the previous page"),
                query("limit", {"type": "integer", "maximum": MAX_PAGE}, "Page size (100)"),
            ],
            "responses": {"200": json_body(page_of(_HOLD)), **errors(400)},
        },
    },
    "/holds/{holdId}/release": {
        "post": {
            "summary": "Release a legal hold (audited as hold.release)",
            "parameters": [path_param("holdId", "The hold's ID")],
            "responses": {"200": json_body(_HOLD), **errors(400, 404)},
        }
    },
}
