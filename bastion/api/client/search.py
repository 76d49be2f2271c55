"""Server-side search: `POST /search`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.services.search.request import SearchRequest


async def search(request: Request) -> Response:
    """POST /_matrix/client/v3/search"""
    requester = await require_requester(request)
    body = await decode_body(request, SearchRequest)
    response = await services_of(request).search.search(
        requester,
        body.search_categories.room_events,
        next_batch=request.query_params.get("next_batch"),
    )
    return JsonResponse(response)


ROUTES = [Route("/search", search, methods=["POST"])]
