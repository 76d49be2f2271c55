"""The room inventory: `GET /rooms` (governance columns, filters, pages) and
`GET /rooms/export?format=csv|xlsx` (the same rows as a file, audited).

Filters: `inactive_days` (no event for that many days), `no_admin` (true: rooms with no admin
still joined; false: rooms with one), `encrypted`, `search` (name, topic, alias or room ID,
case-insensitive). Pages: `from` is the `next` of the previous page.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import bool_param, int_param, require_admin
from bastion.api.admin.own.openapi import errors, json_body, page_of, query
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.services.admin.room_export import FORMATS
from bastion.services.admin.room_summaries import RoomSummary
from bastion.services.admin.rooms import InventoryQuery

MAX_PAGE = 1000


def _optional_bool(request: Request, name: str) -> bool | None:
    if request.query_params.get(name) in (None, ""):
        return None
    return bool_param(request, name, False)


def _query(request: Request) -> InventoryQuery:
    params = request.query_params
    inactive = int_param(request, "inactive_days", 0) if params.get("inactive_days") else None
    return InventoryQuery(
        start=int_param(request, "from", 0),
        limit=int_param(request, "limit", 100, minimum=1, maximum=MAX_PAGE),
        inactive_days=inactive,
        no_admin=_optional_bool(request, "no_admin"),
        encrypted=_optional_bool(request, "encrypted"),
        search=params.get("search") or None,
    )


def entry(room: RoomSummary) -> dict[str, Any]:
    """One inventory entry."""
    return {
        "room_id": room.room_id,
        "name": room.name,
        "topic": room.topic,
        "creator": room.creator,
        "room_version": room.version,
        "joined_members": room.joined_members,
        "admins": list(room.admins),
        "encryption": room.encryption,
        "join_rule": room.join_rules,
        "created_ts": room.created_ts,
        "last_activity_ts": room.last_activity_ts,
    }


async def list_rooms(request: Request) -> Response:
    """GET /_bastion/admin/v1/rooms?inactive_days=&no_admin=&encrypted=&search=&from=&limit="""
    admin = await require_admin(request)
    page = await services_of(request).room_admin.inventory(admin, _query(request))
    next_token = str(page.next) if page.next is not None else None
    return JsonResponse({"entries": [entry(r) for r in page.entries], "next": next_token})


async def export_rooms(request: Request) -> Response:
    """GET /_bastion/admin/v1/rooms/export?format=csv|xlsx (same filters as the listing)"""
    admin = await require_admin(request)
    file_format = request.query_params.get("format", "csv")
    rtl = bool_param(request, "rtl", False)
    data = await services_of(request).room_export.export(
        admin, _query(request), file_format, rtl=rtl
    )
    headers = {"Content-Disposition": f'attachment; filename="bastion-rooms.{file_format}"'}
    return Response(data, media_type=FORMATS[file_format], headers=headers)


ROUTES = [
    Route("/rooms", list_rooms, methods=["GET"]),
    Route("/rooms/export", export_rooms, methods=["GET"]),
]

_FILTERS = [
    query("inactive_days", {"type": "integer", "minimum": 0}, "Only rooms without an event for "
          "this many days"),
    query("no_admin", {"type": "boolean"}, "true: only rooms with no admin still joined "
          "(power 100, or a v12 creator); false: only rooms with one"),
    query("encrypted", {"type": "boolean"}, "Only encrypted (true) or unencrypted (false) rooms"),
    query("search", {"type": "string"}, "Part of the name, topic, alias or room ID"),
]  # fmt: skip
_ENTRY = {
    "type": "object",
    "properties": {
        "room_id": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "topic": {"type": ["string", "null"]},
        "creator": {"type": "string"},
        "room_version": {"type": "string"},
        "joined_members": {"type": "integer"},
        "admins": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Joined members at power 100 and, in v12 rooms, the creators",
        },
        "encryption": {"type": ["string", "null"]},
        "join_rule": {"type": ["string", "null"]},
        "created_ts": {"type": "integer"},
        "last_activity_ts": {"type": ["integer", "null"]},
    },
}
OPENAPI = {
    "/rooms": {
        "get": {
            "summary": "The room inventory, newest rooms first",
            "parameters": [
                *_FILTERS,
                query("from", {"type": "string"}, "The `next` of the previous page"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "Page size"),
            ],
            "responses": {"200": json_body(page_of(_ENTRY)), **errors(400)},
        }
    },
    "/rooms/export": {
        "get": {
            "summary": "The room inventory as CSV (UTF-8 with BOM) or XLSX (audited)",
            "parameters": [
                query("format", {"type": "string", "enum": ["csv", "xlsx"]}, "File format"),
                query("rtl", {"type": "boolean"}, "XLSX: lay the sheet out right to left"),
                *_FILTERS,
            ],
            "responses": {
                "200": {
                    "description": "The file",
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
                    },
                },
                **errors(400),
            },
        }
    },
}
