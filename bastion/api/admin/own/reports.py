"""Bastion's report queue: every report (events, rooms, users) in one list, and its handling.

`GET /reports` (`kind`, `status`, `from`, `limit`; newest first), `GET /reports/{reportId}`,
`POST /reports/{reportId}/dismiss` and `/resolve` (audited `report.dismiss` / `report.resolve`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.admin.guard import id_path_param, int_param, require_admin
from bastion.api.admin.own.openapi import errors, json_body, page_of, path_param, query
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.services.moderation.reports import KINDS, STATUSES, ReportQuery, ReportRecord

MAX_PAGE = 500


def report_json(report: ReportRecord) -> dict[str, Any]:
    """A report as this API shows it (`user_id`: the reported user, or the event's sender)."""
    return {
        "id": report.id,
        "kind": report.kind,
        "status": report.status,
        "received_ts": report.received_ts,
        "reporter": report.reporter,
        "room_id": report.room_id,
        "event_id": report.event_id,
        "user_id": report.target_user_id,
        "reason": report.reason,
        "score": report.score,
        "handled_by": report.handled_by,
        "handled_ts": report.handled_ts,
    }


def _report_id(request: Request) -> int:
    return id_path_param(request, "reportId", "Report")


async def list_reports(request: Request) -> Response:
    """GET /_bastion/admin/v1/reports?kind=&status=&from=&limit="""
    admin = await require_admin(request)
    limit = int_param(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    offset = int_param(request, "from", 0)
    params = request.query_params
    query = ReportQuery(
        kind=params.get("kind") or None,
        status=params.get("status") or None,
        offset=offset,
        limit=limit,
    )
    page, total = await services_of(request).reports.list(admin, query)
    more = offset + len(page) < total
    return JsonResponse(
        {
            "entries": [report_json(r) for r in page],
            "next": str(offset + len(page)) if more else None,
        }
    )


async def get_report(request: Request) -> Response:
    """GET /_bastion/admin/v1/reports/{reportId}"""
    admin = await require_admin(request)
    report = await services_of(request).reports.get(admin, _report_id(request))
    return JsonResponse(report_json(report))


async def dismiss_report(request: Request) -> Response:
    """POST /_bastion/admin/v1/reports/{reportId}/dismiss"""
    admin = await require_admin(request)
    report = await services_of(request).reports.set_status(admin, _report_id(request), "dismissed")
    return JsonResponse(report_json(report))


async def resolve_report(request: Request) -> Response:
    """POST /_bastion/admin/v1/reports/{reportId}/resolve"""
    admin = await require_admin(request)
    report = await services_of(request).reports.set_status(admin, _report_id(request), "resolved")
    return JsonResponse(report_json(report))


ROUTES = [
    Route("/reports", list_reports, methods=["GET"]),
    Route("/reports/{reportId}", get_report, methods=["GET"]),
    Route("/reports/{reportId}/dismiss", dismiss_report, methods=["POST"]),
    Route("/reports/{reportId}/resolve", resolve_report, methods=["POST"]),
]

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
_REPORT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"enum": list(KINDS)},
        "status": {"enum": list(STATUSES)},
        "received_ts": {"type": "integer"},
        "reporter": {"type": "string"},
        "room_id": _NULLABLE_STRING,
        "event_id": _NULLABLE_STRING,
        "user_id": {**_NULLABLE_STRING, "description": "The reported user, or the event's sender"},
        "reason": _NULLABLE_STRING,
        "score": _NULLABLE_INT,
        "handled_by": _NULLABLE_STRING,
        "handled_ts": _NULLABLE_INT,
    },
}
_ID = path_param("reportId", "The report's ID")


def _handle(summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": [_ID],
            "responses": {"200": json_body(_REPORT), **errors(400, 404)},
        }
    }


OPENAPI = {
    "/reports": {
        "get": {
            "summary": "The report queue (events, rooms and users), newest first",
            "parameters": [
                query("kind", {"enum": list(KINDS)}, "Only reports of this kind"),
                query("status", {"enum": list(STATUSES)}, "Only reports in this state"),
                query("from", {"type": "string"}, "`next` of the previous page"),
                query("limit", {"type": "integer", "maximum": MAX_PAGE}, "Page size (100)"),
            ],
            "responses": {"200": json_body(page_of(_REPORT)), **errors(400)},
        }
    },
    "/reports/{reportId}": {
        "get": {
            "summary": "One report",
            "parameters": [_ID],
            "responses": {"200": json_body(_REPORT), **errors(400, 404)},
        }
    },
    "/reports/{reportId}/dismiss": _handle("Dismiss a report (audited `report.dismiss`)"),
    "/reports/{reportId}/resolve": _handle("Mark a report resolved (audited `report.resolve`)"),
}
