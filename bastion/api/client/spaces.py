"""Spaces: `GET /_matrix/client/v1/rooms/{roomId}/hierarchy` (services/directory/hierarchy.py).

`limit` must be at least 1 and `max_depth` at least 0 (else 400 M_INVALID_PARAM); larger values
than the server's maxima are lowered to them, as the spec lets a server impose.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.events.query_params import query_int
from bastion.services.directory.hierarchy import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_DEPTH,
    MAX_LIMIT,
    MAX_MAX_DEPTH,
    HierarchyQuery,
)


async def hierarchy(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/hierarchy"""
    requester = await require_requester(request)
    page = await services_of(request).space_hierarchy.hierarchy(
        requester, request.path_params["roomId"], hierarchy_query(request)
    )
    return JsonResponse(page)


def hierarchy_query(request: Request, *, default_depth: int = DEFAULT_MAX_DEPTH) -> HierarchyQuery:
    """The query parameters of a hierarchy request (the admin API's too, whose walk goes as
    deep as the server allows unless told otherwise)."""
    params = request.query_params
    suggested = params.get("suggested_only", "false")
    if suggested not in ("true", "false"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "suggested_only must be true or false")
    return HierarchyQuery(
        suggested_only=suggested == "true",
        limit=min(query_int(params, "limit", DEFAULT_LIMIT, minimum=1), MAX_LIMIT),
        max_depth=min(query_int(params, "max_depth", default_depth), MAX_MAX_DEPTH),
        from_token=params.get("from"),
    )


V1_ROUTES = [Route("/rooms/{roomId}/hierarchy", hierarchy, methods=["GET"])]
