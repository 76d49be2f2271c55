"""`GET /sync` and the filter endpoints.

A client's long polls repeat the same long query components (an inline filter, URL-encoded JSON):
each such component is unquoted once per process (`_query_params`, a bounded table keyed by the
component's raw text, so it holds nothing a request could not recompute).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.long_poll import unless_hung_up
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.services.sync.request import parse_sync_request


async def sync(request: Request) -> Response:
    """GET /_matrix/client/v3/sync

    A long poll stops as soon as its client hangs up, so a departed client costs nothing and
    does not hold up a graceful shutdown.
    """
    services = services_of(request)
    mark = services.sync.revocations_mark()  # before the token check (services/long_poll.py)
    requester = await require_requester(request)
    params = _query_params(request.scope["query_string"])
    sync_request = await parse_sync_request(requester, params, services.account_data)
    answer = services.sync.sync(requester, sync_request, authenticated_at=mark)
    body = await unless_hung_up(request, answer)
    if body is None:
        return Response(status_code=400)  # nobody is listening
    return JsonResponse(body)


_UNQUOTED: dict[str, list[tuple[str, str]]] = {}
_UNQUOTED_MAX = 256
_UNQUOTED_FROM = 64  # shorter components (the token, the timeout) are unquoted every time


def _query_params(query_string: bytes) -> dict[str, str]:
    """`dict(request.query_params)` (the last of repeated names wins), with each long component
    unquoted once."""
    params: dict[str, str] = {}
    for part in query_string.decode("latin-1").split("&"):
        if len(part) < _UNQUOTED_FROM:
            params.update(parse_qsl(part, keep_blank_values=True))
            continue
        pairs = _UNQUOTED.get(part)
        if pairs is None:
            if len(_UNQUOTED) >= _UNQUOTED_MAX:
                _UNQUOTED.clear()
            pairs = _UNQUOTED[part] = parse_qsl(part, keep_blank_values=True)
        params.update(pairs)
    return params


async def create_filter(request: Request) -> Response:
    """POST /_matrix/client/v3/user/{userId}/filter"""
    requester = await require_requester(request)
    definition = await decode_object(request)
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
