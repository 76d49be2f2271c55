"""VoIP: `GET /voip/turnServer`, TURN credentials for calls, and the MatrixRTC transports for
group calls (`GET /_matrix/client/unstable/org.matrix.msc4143/rtc/transports`, MSC4143; the
same list as `/.well-known/matrix/client`'s `org.matrix.msc4143.rtc_foci`), services/voip.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse, empty


async def turn_server(request: Request) -> Response:
    """GET /_matrix/client/v3/voip/turnServer"""
    requester = await require_requester(request)
    credentials = services_of(request).voip.turn_server(requester)
    # spec: the homeserver MAY provide a TURN server; without one the answer is `{}`.
    return empty() if credentials is None else JsonResponse(credentials)


async def rtc_transports(request: Request) -> Response:
    """GET /_matrix/client/unstable/org.matrix.msc4143/rtc/transports"""
    await require_requester(request)
    return JsonResponse({"rtc_transports": services_of(request).voip.rtc_transports()})


ROUTES = [Route("/voip/turnServer", turn_server, methods=["GET"])]
RTC_ROUTES = [  # mounted as is (routes.py)
    Route("/_matrix/client/unstable/org.matrix.msc4143/rtc/transports", rtc_transports,
          methods=["GET"]),
]  # fmt: skip
