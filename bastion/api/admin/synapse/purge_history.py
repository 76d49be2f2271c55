"""Synapse's Purge History API: `POST /_synapse/admin/v1/purge_history/{roomId}[/{eventId}]`
(a background job, answering `purge_id`) and `GET /_synapse/admin/v1/purge_history_status/
{purgeId}`. What is purged, and what never is: services/retention/history_purge.py.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import require_admin
from bastion.api.bodies import decode_optional_body
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.retention.history_purge import PurgePoint

# A time in ms within what any database integer holds (a larger number is a malformed body).
Timestamp = Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]


class PurgeBody(msgspec.Struct, frozen=True):
    """The request body (Synapse's fields; an empty body is `{}`)."""

    delete_local_events: bool = False
    purge_up_to_event_id: str | None = None
    purge_up_to_ts: Timestamp | None = None


async def purge_history(request: Request) -> Response:
    """POST /_synapse/admin/v1/purge_history/{roomId}[/{eventId}]"""
    admin = await require_admin(request)
    body = await decode_optional_body(request, PurgeBody)
    event_id = request.path_params.get("eventId") or body.purge_up_to_event_id
    if event_id is not None:
        point = PurgePoint(event_id=event_id)
    elif body.purge_up_to_ts is not None:
        point = PurgePoint(before_ts=body.purge_up_to_ts)
    else:
        raise MatrixError(
            400, Errcode.BAD_JSON, "must specify purge_up_to_event_id or purge_up_to_ts"
        )
    purges = services_of(request).history_purges
    purge_id = await purges.start(
        admin, request.path_params["roomId"], point, delete_local=body.delete_local_events
    )
    return JsonResponse({"purge_id": purge_id})


async def purge_status(request: Request) -> Response:
    """GET /_synapse/admin/v1/purge_history_status/{purgeId}"""
    admin = await require_admin(request)
    purges = services_of(request).history_purges
    purge = await purges.status(admin, request.path_params["purgeId"])
    body: dict[str, str] = {"status": purge.status}
    if purge.error is not None:
        body["error"] = purge.error
    return JsonResponse(body)


ROUTES = [
    Route("/v1/purge_history/{roomId}", purge_history, methods=["POST"]),
    Route("/v1/purge_history/{roomId}/{eventId}", purge_history, methods=["POST"]),
    Route("/v1/purge_history_status/{purgeId}", purge_status, methods=["GET"]),
]
