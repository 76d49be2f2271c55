"""Synapse's media admin API (services/media/admin.py): a file's record, quarantine and release
(one file, a room's files, a user's uploads), a room's files, deletion. Shapes as Synapse's:
`{}` for one file's quarantine, `{"num_quarantined": n}` for many, `{"local": [...],
"remote": [...]}` for a room's files, `{"deleted_media": [...], "total": n}` for a deletion (one
file, or every file unused since a date); protection from quarantine.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import bool_param, int_param, require_admin
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.media.usage import MediaUsageQuery

MAX_USAGE_LIMIT = 1000  # users per page


async def media_info(request: Request) -> Response:
    """GET /_synapse/admin/v1/media/{serverName}/{mediaId}"""
    admin = await require_admin(request)
    p = request.path_params
    media = await services_of(request).media_admin.info(admin, p["serverName"], p["mediaId"])
    info: dict[str, Any] = {
        "media_origin": p["serverName"],
        "user_id": media.user_id,
        "media_id": media.media_id,
        "media_type": media.content_type,
        "media_length": media.size,
        "upload_name": media.upload_name,
        "created_ts": media.created_ts,
        "last_access_ts": media.last_access_ts,
        "quarantined_by": media.quarantined_by,
        "authenticated": True,
        "safe_from_quarantine": media.safe_from_quarantine,
        "sha256": media.sha256,
    }
    return JsonResponse({"media_info": info})


async def quarantine(request: Request) -> Response:
    """POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}"""
    admin = await require_admin(request)
    p = request.path_params
    await services_of(request).media_admin.quarantine(admin, p["serverName"], p["mediaId"])
    return JsonResponse({})


async def unquarantine(request: Request) -> Response:
    """POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}"""
    admin = await require_admin(request)
    p = request.path_params
    await services_of(request).media_admin.unquarantine(admin, p["serverName"], p["mediaId"])
    return JsonResponse({})


async def quarantine_room(request: Request) -> Response:
    """POST /_synapse/admin/v1/room/{roomId}/media/quarantine (and the legacy
    /v1/quarantine_media/{roomId})"""
    admin = await require_admin(request)
    media_admin = services_of(request).media_admin
    count = await media_admin.quarantine_room(admin, request.path_params["roomId"])
    return JsonResponse({"num_quarantined": count})


async def quarantine_user(request: Request) -> Response:
    """POST /_synapse/admin/v1/user/{userId}/media/quarantine"""
    admin = await require_admin(request)
    media_admin = services_of(request).media_admin
    count = await media_admin.quarantine_user(admin, request.path_params["userId"])
    return JsonResponse({"num_quarantined": count})


async def room_media(request: Request) -> Response:
    """GET /_synapse/admin/v1/room/{roomId}/media"""
    admin = await require_admin(request)
    media_admin = services_of(request).media_admin
    local, remote = await media_admin.room_media(admin, request.path_params["roomId"])
    return JsonResponse({"local": local, "remote": remote})


async def delete_media(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}"""
    admin = await require_admin(request)
    p = request.path_params
    deleted = await services_of(request).media_admin.delete(admin, p["serverName"], p["mediaId"])
    return JsonResponse({"deleted_media": deleted, "total": len(deleted)})


async def protect(request: Request) -> Response:
    """POST /_synapse/admin/v1/media/protect/{mediaId}"""
    admin = await require_admin(request)
    media_id = request.path_params["mediaId"]
    await services_of(request).media_admin.protect(admin, media_id, protected=True)
    return JsonResponse({})


async def unprotect(request: Request) -> Response:
    """POST /_synapse/admin/v1/media/unprotect/{mediaId}"""
    admin = await require_admin(request)
    media_id = request.path_params["mediaId"]
    await services_of(request).media_admin.protect(admin, media_id, protected=False)
    return JsonResponse({})


async def delete_unused(request: Request) -> Response:
    """POST /_synapse/admin/v1/media/delete?before_ts=&size_gt=&keep_profiles= (and the
    deprecated /v1/media/{serverName}/delete): files unused since `before_ts`."""
    admin = await require_admin(request)
    if request.query_params.get("before_ts") in (None, ""):
        raise MatrixError(400, Errcode.MISSING_PARAM, "Missing integer query parameter 'before_ts'")
    before_ts = int_param(request, "before_ts", 0)
    size_gt = int_param(request, "size_gt", 0)
    keep_avatars = bool_param(request, "keep_profiles", True)
    deleted = await services_of(request).media_admin.delete_unused(
        admin,
        before_ts,
        size_gt,
        keep_avatars=keep_avatars,
        server_name=request.path_params.get("serverName"),
    )
    return JsonResponse({"deleted_media": deleted, "total": len(deleted)})


async def purge_media_cache(request: Request) -> Response:
    """POST /_synapse/admin/v1/purge_media_cache?before_ts=: other servers' cached files (none
    here: services/media/admin.py purge_remote_cache)."""
    admin = await require_admin(request)
    if request.query_params.get("before_ts") in (None, ""):
        raise MatrixError(400, Errcode.MISSING_PARAM, "Missing integer query parameter 'before_ts'")
    before_ts = int_param(request, "before_ts", 0, minimum=-(2**62))
    deleted = services_of(request).media_admin.purge_remote_cache(admin, before_ts)
    return JsonResponse({"deleted": deleted})


async def usage_by_user(request: Request) -> Response:
    """GET /_synapse/admin/v1/statistics/users/media"""
    admin = await require_admin(request)
    params = request.query_params
    direction = params.get("dir", "f")
    if direction not in ("f", "b"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "Query parameter 'dir' must be f or b")
    query = MediaUsageQuery(
        order_by=params.get("order_by", "user_id"),
        backwards=direction == "b",
        start=int_param(request, "from", 0),
        limit=int_param(request, "limit", 100, maximum=MAX_USAGE_LIMIT),
        from_ts=int_param(request, "from_ts", -1) if "from_ts" in params else None,
        until_ts=int_param(request, "until_ts", -1) if "until_ts" in params else None,
        search_term=params.get("search_term") or None,
    )
    rows, total = await services_of(request).media_usage.by_user(admin, query)
    body: dict[str, Any] = {"users": [msgspec.to_builtins(row) for row in rows], "total": total}
    if query.start + len(rows) < total:
        body["next_token"] = query.start + len(rows)
    return JsonResponse(body)


ROUTES = [
    Route("/v1/statistics/users/media", usage_by_user, methods=["GET"]),
    Route("/v1/media/protect/{mediaId}", protect, methods=["POST"]),
    Route("/v1/media/unprotect/{mediaId}", unprotect, methods=["POST"]),
    Route("/v1/media/delete", delete_unused, methods=["POST"]),
    Route("/v1/purge_media_cache", purge_media_cache, methods=["POST"]),
    Route("/v1/media/{serverName}/delete", delete_unused, methods=["POST"]),
    Route("/v1/media/quarantine/{serverName}/{mediaId}", quarantine, methods=["POST"]),
    Route("/v1/media/unquarantine/{serverName}/{mediaId}", unquarantine, methods=["POST"]),
    Route("/v1/media/{serverName}/{mediaId}", media_info, methods=["GET"]),
    Route("/v1/media/{serverName}/{mediaId}", delete_media, methods=["DELETE"]),
    Route("/v1/room/{roomId}/media", room_media, methods=["GET"]),
    Route("/v1/room/{roomId}/media/quarantine", quarantine_room, methods=["POST"]),
    Route("/v1/quarantine_media/{roomId}", quarantine_room, methods=["POST"]),
    Route("/v1/user/{userId}/media/quarantine", quarantine_user, methods=["POST"]),
]
