"""Synapse's read-outs about one account: `v1/whois/{userId}` (and the spec's
`GET /_matrix/client/v3/admin/whois/{userId}`, which a user may also call about themself),
`v1/users/{userId}/joined_rooms`, `v1/users/{userId}/memberships` (every room with a membership,
left and banned ones too), `v1/users/{userId}/media` (and its deletion),
`v1/users/{userId}/pushers`, `v1/users/{userId}/accountdata` (audited: services/admin/
user_data.py), and the abuse signals `v1/users/{userId}/sent_invite_count` and
`cumulative_joined_room_count` (since `from_ts`).

whois lists one session per device with its last connection; Bastion does not keep user agents.
The media list pages like Synapse's (`from`, `limit`, `order_by`, `dir`, newest first by default;
`next_token` an integer while more follow).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import int_param, require_admin
from bastion.api.admin.synapse.users import MAX_LIMIT
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_user_id
from bastion.services.admin.user_data import (
    DeviceRecord,
    MediaListQuery,
    PusherRecord,
    UserMediaRow,
)


def _whois_json(user_id: str, devices: list[DeviceRecord]) -> dict[str, Any]:
    sessions: dict[str, Any] = {}
    for device in devices:
        connection: dict[str, Any] = {"ip": device.last_seen_ip, "last_seen": device.last_seen_ts}
        connections = [connection] if device.last_seen_ts is not None else []
        sessions[device.device_id] = {"sessions": [{"connections": connections}]}
    return {"user_id": user_id, "devices": sessions}


async def whois(request: Request) -> Response:
    """GET /_synapse/admin/v1/whois/{userId}"""
    admin = await require_admin(request)
    user_id = request.path_params["userId"]
    devices = await services_of(request).admin_user_data.whois(admin, user_id)
    return JsonResponse(_whois_json(user_id, devices))


async def client_whois(request: Request) -> Response:
    """GET /_matrix/client/v3/admin/whois/{userId}: the user themself, or a server admin."""
    requester = await require_requester(request)
    user_id = request.path_params["userId"]
    devices = await services_of(request).admin_user_data.whois(requester, user_id)
    return JsonResponse(_whois_json(user_id, devices))


async def joined_rooms(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/joined_rooms"""
    admin = await require_admin(request)
    data = services_of(request).admin_user_data
    rooms = await data.joined_rooms(admin, request.path_params["userId"])
    return JsonResponse({"joined_rooms": rooms, "total": len(rooms)})


async def memberships(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/memberships"""
    admin = await require_admin(request)
    data = services_of(request).admin_user_data
    found = await data.memberships(admin, request.path_params["userId"])
    return JsonResponse({"memberships": found})


def _media_json(row: UserMediaRow) -> dict[str, Any]:
    return {
        "created_ts": row.created_ts,
        "last_access_ts": row.last_access_ts,
        "media_id": row.media_id,
        "media_length": row.media_length,
        "media_type": row.media_type,
        "quarantined_by": row.quarantined_by,
        "safe_from_quarantine": row.safe_from_quarantine,
        "upload_name": row.upload_name,
    }


def _media_query(request: Request) -> MediaListQuery:
    """`from`, `limit`, `order_by` and `dir` as Synapse reads them for listing (and deleting)."""
    params = request.query_params
    start = int_param(request, "from", 0)
    limit = min(int_param(request, "limit", 100), MAX_LIMIT)
    direction = params.get("dir")
    if direction not in (None, "f", "b"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "Query parameter 'dir' must be f or b")
    order_by = params.get("order_by")
    # Neither given: newest first. Otherwise `dir` defaults to forwards, as in Synapse.
    backwards = direction == "b" or (direction is None and order_by is None)
    return MediaListQuery(order_by or "created_ts", backwards, start, limit)


async def list_media(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/media"""
    admin = await require_admin(request)
    query = _media_query(request)
    data = services_of(request).admin_user_data
    rows, total = await data.list_media(admin, request.path_params["userId"], query)
    body: dict[str, Any] = {"media": [_media_json(row) for row in rows], "total": total}
    if query.start + query.limit < total:
        body["next_token"] = query.start + len(rows)
    return JsonResponse(body)


async def delete_media(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/users/{userId}/media: the page the same parameters would list
    (100 newest by default), except files a legal hold needs."""
    admin = await require_admin(request)
    user_id = request.path_params["userId"]
    services = services_of(request)
    rows, _total = await services.admin_user_data.list_media(admin, user_id, _media_query(request))
    media_ids = [row.media_id for row in rows]
    deleted = await services.media_admin.delete_uploads(admin, user_id, media_ids)
    return JsonResponse({"deleted_media": deleted, "total": len(deleted)})


def _pusher_json(pusher: PusherRecord) -> dict[str, Any]:
    return {
        "app_display_name": pusher.app_display_name,
        "app_id": pusher.app_id,
        "data": json.loads(pusher.data),
        "device_display_name": pusher.device_display_name,
        "kind": pusher.kind,
        "lang": pusher.lang,
        "profile_tag": pusher.profile_tag or "",
        "pushkey": pusher.pushkey,
    }


async def pushers(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/pushers"""
    admin = await require_admin(request)
    data = services_of(request).admin_user_data
    found = await data.pushers(admin, request.path_params["userId"])
    return JsonResponse({"pushers": [_pusher_json(p) for p in found], "total": len(found)})


def _from_ts(request: Request) -> tuple[str, int]:
    """(the path's user ID, the required `from_ts`): 400 for a malformed user ID or time."""
    user_id = request.path_params["userId"]
    if not is_valid_user_id(user_id):
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{user_id!r} is not a user ID")
    if not request.query_params.get("from_ts"):
        raise MatrixError(
            400, Errcode.MISSING_PARAM, "Missing required integer query parameter from_ts"
        )
    return user_id, int_param(request, "from_ts", 0)


async def sent_invite_count(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/sent_invite_count?from_ts="""
    admin = await require_admin(request)
    user_id, from_ts = _from_ts(request)
    count = await services_of(request).admin_user_data.sent_invite_count(admin, user_id, from_ts)
    return JsonResponse({"invite_count": count})


async def cumulative_joined_room_count(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/cumulative_joined_room_count?from_ts="""
    admin = await require_admin(request)
    user_id, from_ts = _from_ts(request)
    data = services_of(request).admin_user_data
    count = await data.cumulative_joined_room_count(admin, user_id, from_ts)
    return JsonResponse({"cumulative_joined_room_count": count})


async def account_data(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/accountdata"""
    admin = await require_admin(request)
    data = services_of(request).admin_user_data
    found, rooms = await data.account_data(admin, request.path_params["userId"])
    return JsonResponse({"account_data": {"global": found, "rooms": rooms}})


ROUTES = [
    Route("/v1/whois/{userId}", whois, methods=["GET"]),
    Route("/v1/users/{userId}/accountdata", account_data, methods=["GET"]),
    Route("/v1/users/{userId}/sent_invite_count", sent_invite_count, methods=["GET"]),
    Route(
        "/v1/users/{userId}/cumulative_joined_room_count",
        cumulative_joined_room_count,
        methods=["GET"],
    ),
    Route("/v1/users/{userId}/joined_rooms", joined_rooms, methods=["GET"]),
    Route("/v1/users/{userId}/memberships", memberships, methods=["GET"]),
    Route("/v1/users/{userId}/media", list_media, methods=["GET"]),
    Route("/v1/users/{userId}/media", delete_media, methods=["DELETE"]),
    Route("/v1/users/{userId}/pushers", pushers, methods=["GET"]),
]
# Under the client prefixes (v3 and r0): the spec's own whois.
CLIENT_ROUTES = [Route("/admin/whois/{userId}", client_whois, methods=["GET"])]
