"""The application service's own client endpoint: `POST /_matrix/client/v1/appservice/
{appserviceId}/ping` (spec v1.7), which asks the server to reach the service and says how long
it took (services/appservices/service.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_object
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError


async def ping(request: Request) -> Response:
    """POST /_matrix/client/v1/appservice/{appserviceId}/ping"""
    requester = await require_requester(request)
    body = await decode_object(request)
    transaction_id = body.get("transaction_id")
    if transaction_id is not None and not isinstance(transaction_id, str):
        raise MatrixError(400, Errcode.BAD_JSON, "transaction_id must be a string")
    duration = await services_of(request).appservices.ping(
        requester, request.path_params["appservice_id"], transaction_id
    )
    return JsonResponse({"duration_ms": duration})


V1_ROUTES = [Route("/appservice/{appservice_id}/ping", ping, methods=["POST"])]
