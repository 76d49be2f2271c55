"""Simplified sliding sync (MSC4186): one implementation at the unstable path Element X calls
and at the stable `v4` path. The dialect is read per request (services/sliding_sync/
request.py); a request that could be either is taken in the dialect of its path. A long poll
stops as soon as its client hangs up, like /sync."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.long_poll import unless_hung_up
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.services.sliding_sync.request import Dialect, parse_request

UNSTABLE_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
STABLE_PATH = "/_matrix/client/v4/sync"


async def sliding_sync(request: Request) -> Response:
    """POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync
    POST /_matrix/client/v4/sync"""
    services = services_of(request)
    mark = services.sliding_sync.revocations_mark()  # before the token check (long_poll.py)
    requester = await require_requester(request)
    default = Dialect.MERGED if request.url.path == STABLE_PATH else Dialect.PRE_MERGE
    parsed = parse_request(await request.body(), request.query_params, default=default)
    answer = services.sliding_sync.sync(requester, parsed, authenticated_at=mark)
    body = await unless_hung_up(request, answer)
    if body is None:
        return Response(status_code=400)  # nobody is listening
    return JsonResponse(body)


ROUTES = [
    Route(UNSTABLE_PATH, sliding_sync, methods=["POST"]),
    Route(STABLE_PATH, sliding_sync, methods=["POST"]),
]
