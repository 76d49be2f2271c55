"""The audit log: `GET /audit` (filtered pages), `GET /audit/export` (JSONL or CSV),
`POST /audit/verify` (check the hash chain)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bastion.api.admin.guard import int_param, require_admin
from bastion.api.admin.own.openapi import errors, json_body, page_of, query
from bastion.api.context import services_of
from bastion.api.responses import JsonResponse
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.reader import AuditQuery, row_json

MAX_PAGE = 1000


def _query(request: Request, *, after: int, limit: int) -> AuditQuery:
    params = request.query_params
    since = int_param(request, "since_ts", -1, minimum=0) if "since_ts" in params else None
    until = int_param(request, "until_ts", -1, minimum=0) if "until_ts" in params else None
    return AuditQuery(
        actor=params.get("actor") or None,
        target=params.get("target") or None,
        action=params.get("action") or None,
        since_ts=since,
        until_ts=until,
        after=after,
        limit=limit,
    )


async def list_audit(request: Request) -> Response:
    """GET /_bastion/admin/v1/audit?actor=&target=&action=&since_ts=&until_ts=&from=&limit="""
    admin = await require_admin(request)
    limit = int_param(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    after = int_param(request, "from", 0)
    rows = await services_of(request).audit_log.list(
        admin, _query(request, after=after, limit=limit + 1)
    )
    page = rows[:limit]
    next_token = str(page[-1].seq) if len(rows) > limit else None
    return JsonResponse({"entries": [row_json(r) for r in page], "next": next_token})


async def export_audit(request: Request) -> Response:
    """GET /_bastion/admin/v1/audit/export?format=jsonl|csv (same filters as the listing)"""
    admin = await require_admin(request)
    kind = request.query_params.get("format", "jsonl")
    query = _query(request, after=0, limit=MAX_PAGE)
    reader = services_of(request).audit_log
    if kind == "jsonl":
        body, media_type, suffix = reader.export_jsonl(admin, query), "application/jsonl", "jsonl"
    elif kind == "csv":
        body, media_type, suffix = reader.export_csv(admin, query), "text/csv", "csv"
    else:
        raise MatrixError(400, Errcode.INVALID_PARAM, "format must be 'jsonl' or 'csv'")
    await services_of(request).audit.record_alone(admin, "audit.export", None, {"format": kind})
    headers = {"Content-Disposition": f'attachment; filename="bastion-audit.{suffix}"'}
    return StreamingResponse(body, media_type=media_type, headers=headers)


async def verify_audit(request: Request) -> Response:
    """POST /_bastion/admin/v1/audit/verify"""
    admin = await require_admin(request)
    report = await services_of(request).audit_log.verify(admin)
    return JsonResponse(
        {
            "intact": report.intact,
            "records": report.records,
            "broken_at": report.broken_at,
            "problem": report.problem,
        }
    )


ROUTES = [
    Route("/audit", list_audit, methods=["GET"]),
    Route("/audit/export", export_audit, methods=["GET"]),
    Route("/audit/verify", verify_audit, methods=["POST"]),
]

_FILTERS = [
    query("actor", {"type": "string"}, "Who acted (a user ID, a SCIM client, an operator)"),
    query("target", {"type": "string"}, "What the action was done to (user ID, room ID, ...)"),
    query("action", {"type": "string"}, "Action name, e.g. `user.deactivate`"),
    query("since_ts", {"type": "integer"}, "Records at or after this time (ms since epoch)"),
    query("until_ts", {"type": "integer"}, "Records before this time (ms since epoch)"),
]
_RECORD = {
    "type": "object",
    "properties": {
        "seq": {"type": "integer"},
        "ts": {"type": "integer"},
        "actor_kind": {"enum": ["user", "scim_client", "app_service", "server", "operator"]},
        "actor": {"type": "string"},
        "action": {"type": "string"},
        "target": {"type": ["string", "null"]},
        "outcome": {"enum": ["success", "failure"]},
        "details": {"type": "object"},
        "prev_hash": {"type": "string"},
        "hash": {"type": "string"},
    },
}
OPENAPI = {
    "/audit": {
        "get": {
            "summary": "List audit records, oldest first",
            "parameters": [
                *_FILTERS,
                query("from", {"type": "string"}, "`next` of the previous page"),
                query("limit", {"type": "integer", "maximum": MAX_PAGE}, "Page size (100)"),
            ],
            "responses": {"200": json_body(page_of(_RECORD)), **errors(400)},
        }
    },
    "/audit/export": {
        "get": {
            "summary": "Export matching records as JSONL or CSV",
            "parameters": [*_FILTERS, query("format", {"enum": ["jsonl", "csv"]}, "jsonl")],
            "responses": {
                "200": {
                    "description": "The records, streamed",
                    "content": {"application/jsonl": {}, "text/csv": {}},
                },
                **errors(400),
            },
        }
    },
    "/audit/verify": {
        "post": {
            "summary": "Check the hash chain; names the first broken record",
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "properties": {
                            "intact": {"type": "boolean"},
                            "records": {"type": "integer"},
                            "broken_at": {"type": ["integer", "null"]},
                            "problem": {"type": ["string", "null"]},
                        },
                    }
                ),
                **errors(),
            },
        }
    },
}
