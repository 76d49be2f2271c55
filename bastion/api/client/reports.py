"""Reporting content (spec: client-server-api#reporting-content): an event, a room or a user.

All three feed the one report queue (services/moderation/reports.py) that admins read through
Synapse's `event_reports` and Bastion's `/_bastion/admin/v1/reports`. Every request is
authenticated, so it is rate-limited per account like every other client write.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.bodies import decode_body
from bastion.api.context import services_of
from bastion.api.requester import require_requester
from bastion.api.responses import JsonResponse


class EventReportBody(msgspec.Struct, frozen=True):
    """`reason` is optional for an event; `score` was removed in spec v1.18 but older clients
    (and Synapse's admin API) still use it: -100 (most offensive) to 0. Anything else there is
    ignored (an unknown parameter now), never a reason to refuse the report."""

    reason: str | None = None
    score: Any = None


class ReportBody(msgspec.Struct, frozen=True):
    """A room or user report: `reason` is required (it may be blank)."""

    reason: str


def _legacy_score(value: Any) -> int | None:
    """An integer `score` (the service keeps it when in range); None for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def report_event(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}"""
    requester = await require_requester(request)
    body = await decode_body(request, EventReportBody)
    p = request.path_params
    await services_of(request).reports.report_event(
        requester, p["roomId"], p["eventId"], body.reason, _legacy_score(body.score)
    )
    return JsonResponse({})


async def report_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/report"""
    requester = await require_requester(request)
    body = await decode_body(request, ReportBody)
    await services_of(request).reports.report_room(
        requester, request.path_params["roomId"], body.reason
    )
    return JsonResponse({})


async def report_user(request: Request) -> Response:
    """POST /_matrix/client/v3/users/{userId}/report"""
    requester = await require_requester(request)
    body = await decode_body(request, ReportBody)
    await services_of(request).reports.report_user(
        requester, request.path_params["userId"], body.reason
    )
    return JsonResponse({})


ROUTES = [
    Route("/rooms/{roomId}/report/{eventId}", report_event, methods=["POST"]),
    Route("/rooms/{roomId}/report", report_room, methods=["POST"]),
    Route("/users/{userId}/report", report_user, methods=["POST"]),
]
