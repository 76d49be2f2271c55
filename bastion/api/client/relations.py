"""Relations and threads: the children of an event, and the threads of a room (client API v1)."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.relations.reading import RelationsQuery, ThreadsQuery

Query = TypeVar("Query", RelationsQuery, ThreadsQuery)


def _query(request: Request, query_type: type[Query], **path: Any) -> Query:
    """The query string as a typed query; 400 M_INVALID_PARAM naming the bad parameter."""
    params = {k: v for k, v in request.query_params.items() if k not in ("rel_type", "event_type")}
    try:
        return msgspec.convert({**params, **path}, query_type, strict=False)
    except msgspec.ValidationError as exc:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid query parameter: {exc}") from exc


async def relations(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]"""
    requester = await require_requester(request)
    p = request.path_params
    query = _query(
        request, RelationsQuery, rel_type=p.get("relType"), event_type=p.get("eventType")
    )
    reader = services_of(request).relations
    return JsonResponse(await reader.relations(requester, p["roomId"], p["eventId"], query))


async def threads(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/threads"""
    requester = await require_requester(request)
    query = _query(request, ThreadsQuery)
    reader = services_of(request).relations
    return JsonResponse(await reader.threads(requester, request.path_params["roomId"], query))


V1_ROUTES = [
    Route("/rooms/{roomId}/relations/{eventId}", relations, methods=["GET"]),
    Route("/rooms/{roomId}/relations/{eventId}/{relType}", relations, methods=["GET"]),
    Route("/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}", relations, methods=["GET"]),
    Route("/rooms/{roomId}/threads", threads, methods=["GET"]),
]
