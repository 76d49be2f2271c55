"""Console pages: the audit log (filters, pages, CSV/JSONL export, "verify the chain").

`/audit?actor=&target=&action=&since=&until=&from=` shows one page of records, oldest first
(`since`/`until` are days, UTC, both included: selection.py); `/audit/export?format=csv|jsonl`
downloads every record matching the same filters; `POST /audit/verify` checks the whole hash
chain and shows the result: intact (with the number of records), or the first record that does
not hold and why.

What stays true: the pages read the log only through `AuditReader` (the service the admin API
calls) as the signed-in admin's console `Requester`, and an export is recorded (`audit.export`)
exactly as the admin API records it, before the first byte is sent. Verifying is a read: it
changes nothing, so it needs no confirmation step (its POST still carries the CSRF token).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bastion.console.pages import (
    query_position,
    read_form,
    render,
    require_session,
    services_of,
)
from bastion.console.selection import day_end_ms, day_start_ms
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.chain import ChainReport
from bastion.services.audit.reader import AuditQuery
from bastion.services.console.sessions import ConsoleSession

PAGE_SIZE: Final = 50
EXPORT_FORMATS: Final = {"jsonl": "application/jsonl", "csv": "text/csv"}
_FILTERS: Final = ("actor", "target", "action", "since", "until")


def _filters(request: Request) -> dict[str, str]:
    """The filters as the form shows them (and the page and export links carry them)."""
    return {name: request.query_params.get(name, "").strip() for name in _FILTERS}


def _query(filters: dict[str, str], *, after: int, limit: int) -> AuditQuery:
    return AuditQuery(
        actor=filters["actor"] or None,
        target=filters["target"] or None,
        action=filters["action"] or None,
        since_ts=day_start_ms(filters["since"], "since"),
        until_ts=day_end_ms(filters["until"], "until"),
        after=after,
        limit=limit,
    )


async def _log_page(
    request: Request,
    session: ConsoleSession,
    filters: dict[str, str],
    *,
    report: ChainReport | None = None,
) -> Response:
    query = _query(filters, after=query_position(request, "from"), limit=PAGE_SIZE + 1)
    rows = await services_of(request).audit_log.list(session.requester, query)
    page = rows[:PAGE_SIZE]
    next_link = None
    if len(rows) > PAGE_SIZE:
        next_link = "?" + urlencode({**filters, "from": str(page[-1].seq)})
    return render(
        request,
        "audit/log.html",
        records=page,
        filters=filters,
        query_string=urlencode(filters),
        next_link=next_link,
        report=report,
    )


async def log(request: Request) -> Response:
    """GET /admin/audit?actor=&target=&action=&since=&until=&from="""
    session = await require_session(request)
    return await _log_page(request, session, _filters(request))


async def export(request: Request) -> Response:
    """GET /admin/audit/export?format=csv|jsonl (the listing's filters) → a download"""
    session = await require_session(request)
    kind = request.query_params.get("format", "jsonl")
    if kind not in EXPORT_FORMATS:
        raise MatrixError(400, Errcode.INVALID_PARAM, "format must be 'jsonl' or 'csv'")
    query = _query(_filters(request), after=0, limit=PAGE_SIZE)
    services = services_of(request)
    reader = services.audit_log
    body = (
        reader.export_jsonl(session.requester, query)
        if kind == "jsonl"
        else reader.export_csv(session.requester, query)
    )
    await services.audit.record_alone(session.requester, "audit.export", None, {"format": kind})
    headers = {"Content-Disposition": f'attachment; filename="bastion-audit.{kind}"'}
    return StreamingResponse(body, media_type=EXPORT_FORMATS[kind], headers=headers)


async def verify(request: Request) -> Response:
    """POST /admin/audit/verify: check the chain, show the result above the first page"""
    session = await require_session(request)
    await read_form(request)
    report = await services_of(request).audit_log.verify(session.requester)
    return await _log_page(request, session, dict.fromkeys(_FILTERS, ""), report=report)


ROUTES = [
    Route("/audit", log, methods=["GET"], name="console_audit"),
    Route("/audit/export", export, methods=["GET"], name="console_audit_export"),
    Route("/audit/verify", verify, methods=["POST"], name="console_audit_verify"),
]
