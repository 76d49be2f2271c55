"""Synapse's event reports API: `GET /v1/event_reports` (list), `GET /v1/event_reports/{reportId}`
(one, with `event_json`), `DELETE /v1/event_reports/{reportId}`.

Field and parameter names are Synapse's (docs/admin_api/event_reports.md): `from` is an offset,
`dir` is `b` (newest first, the default) or `f`, `user_id` and `room_id` match as substrings,
`event_sender_user_id` exactly; `next_token` is present only when there is a next page. Only
event reports are listed here; room and user reports are in Bastion's own queue.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import id_path_param, int_param, require_admin
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.moderation.reports import ReportQuery, ReportRecord, RoomLabel
from bastion.services.principal import Requester

KIND = "event"


def report_json(report: ReportRecord, label: RoomLabel | None) -> dict[str, Any]:
    """A report with Synapse's field names (`user_id` is the reporter, `sender` the event's)."""
    return {
        "id": report.id,
        "received_ts": report.received_ts,
        "room_id": report.room_id,
        "name": label.name if label is not None else None,
        "event_id": report.event_id,
        "user_id": report.reporter,
        "reason": report.reason,
        "score": report.score,
        "sender": report.target_user_id,
        "canonical_alias": label.canonical_alias if label is not None else None,
    }


def _report_id(request: Request) -> int:
    return id_path_param(request, "reportId", "Event report")


async def list_event_reports(request: Request) -> Response:
    """GET /_synapse/admin/v1/event_reports"""
    admin = await require_admin(request)
    start = int_param(request, "from", 0)
    limit = int_param(request, "limit", 100)
    direction = request.query_params.get("dir", "b")
    if direction not in ("b", "f"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "Unknown direction: " + direction)
    params = request.query_params
    query = ReportQuery(
        kind=KIND,
        room_id=params.get("room_id") or None,
        reporter=params.get("user_id") or None,
        target_user_id=params.get("event_sender_user_id") or None,
        newest_first=direction == "b",
        offset=start,
        limit=limit,
    )
    reports = services_of(request).reports
    page, total = await reports.list(admin, query)
    labels = await reports.labels(admin, {r.room_id for r in page if r.room_id is not None})
    body: dict[str, Any] = {
        "event_reports": [report_json(r, labels.get(r.room_id or "")) for r in page],
        "total": total,
    }
    if start + len(page) < total:
        body["next_token"] = start + len(page)
    return JsonResponse(body)


async def _one(request: Request, admin: Requester) -> dict[str, Any]:
    reports = services_of(request).reports
    report = await reports.get(admin, _report_id(request), kind=KIND)
    labels = await reports.labels(admin, {report.room_id} if report.room_id else set())
    body = report_json(report, labels.get(report.room_id or ""))
    body["event_json"] = (
        await reports.event_json(admin, report.event_id) if report.event_id else None
    )
    return body


async def get_event_report(request: Request) -> Response:
    """GET /_synapse/admin/v1/event_reports/{reportId}"""
    admin = await require_admin(request)
    return JsonResponse(await _one(request, admin))


async def delete_event_report(request: Request) -> Response:
    """DELETE /_synapse/admin/v1/event_reports/{reportId}"""
    admin = await require_admin(request)
    await services_of(request).reports.delete(admin, _report_id(request), kind=KIND)
    return JsonResponse({})


ROUTES = [
    Route("/v1/event_reports", list_event_reports, methods=["GET"]),
    Route("/v1/event_reports/{reportId}", get_event_report, methods=["GET"]),
    Route("/v1/event_reports/{reportId}", delete_event_report, methods=["DELETE"]),
]
