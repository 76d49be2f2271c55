"""`GET /sync` and the filter endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.events.filters import FilterDefinition
from bastion.services.sync.request import parse_sync_request


async def sync(request: Request) -> Response:
    """GET /_matrix/client/v3/sync"""
    services = services_of(request)
    requester = await require_requester(request)
    params = dict(request.query_params)
    sync_request = await parse_sync_request(requester, params, services.account_data)
    return JsonResponse(await services.sync.sync(requester, sync_request))


async def create_filter(request: Request) -> Response:
    """POST /_matrix/client/v3/user/{userId}/filter"""
    requester = await require_requester(request)
    definition = await decode_body(request, FilterDefinition)
    account_data = services_of(request).account_data
    filter_id = await account_data.create_filter(
        requester, request.path_params["userId"], definition
    )
    return JsonResponse({"filter_id": filter_id})


async def get_filter(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/filter/{filterId}"""
    requester = await require_requester(request)
    p = request.path_params
    definition = await services_of(request).account_data.get_filter(
        requester, p["userId"], p["filterId"]
    )
    return JsonResponse(definition)


ROUTES = [
    Route("/sync", sync, methods=["GET"]),
    Route("/user/{userId}/filter", create_filter, methods=["POST"]),
    Route("/user/{userId}/filter/{filterId}", get_filter, methods=["GET"]),
]
