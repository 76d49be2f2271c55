"""Console pages: the report queue and moderation.

`/reports` is the queue (open reports by default), `/reports/{id}` one report with the reported
message among its neighbours (`ReportService.context`, an admin-only read), and its actions:
remove the message (with a reason; its files quarantined too unless the admin unticks it),
dismiss, remove all of the reported user's messages (the
redaction job, whose progress `/redactions/{job_id}` shows).

What stays true: a page only calls the services the admin API calls (`reports`, `redactions`)
as the signed-in admin's console `Requester`, so each action is checked and audited there.
Removing a message or all of a user's messages is a GET confirmation page (the second one says
how many messages the job would remove: the service's dry run), then a POST with the CSRF token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bastion.console.pages import (
    ROOT,
    flash,
    form_text,
    query_position,
    read_form,
    redirect,
    render,
    require_session,
    services_of,
)
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.moderation.redactions import RedactionJob, RedactionScope
from bastion.services.moderation.reports import STATUSES, ReportQuery, ReportRecord

PAGE_SIZE = 50


async def queue(request: Request) -> Response:
    """GET /admin/reports?status=open|dismissed|resolved|all&from="""
    session = await require_session(request)
    params = request.query_params
    status = params.get("status", "open")
    status = status if status in (*STATUSES, "all") else "open"
    offset = query_position(request, "from")
    query = ReportQuery(status=None if status == "all" else status, offset=offset, limit=PAGE_SIZE)
    reports = services_of(request).reports
    page, total = await reports.list(session.requester, query)
    labels = await reports.labels(session.requester, {r.room_id for r in page if r.room_id})
    end = offset + len(page)
    return render(
        request,
        "reports/queue.html",
        reports=page,
        labels=labels,
        current_status=status,
        statuses=(*STATUSES, "all"),
        total=total,
        next_from=end if end < total else None,
    )


async def _report(request: Request) -> ReportRecord:
    session = await require_session(request)
    return await services_of(request).reports.get(
        session.requester, request.path_params["report_id"]
    )


async def report(request: Request) -> Response:
    """GET /admin/reports/{report_id}"""
    session = await require_session(request)
    reports = services_of(request).reports
    found = await _report(request)
    context = await reports.context(session.requester, found.id)
    labels = await reports.labels(session.requester, {found.room_id} if found.room_id else set())
    return render(
        request,
        "reports/report.html",
        report=found,
        context=context,
        label=labels.get(found.room_id) if found.room_id else None,
    )


def _event_report(found: ReportRecord) -> tuple[str, str, str]:
    """(room, event, sender) of an event report; 400 for a report of a room or a user."""
    if found.room_id is None or found.event_id is None or found.target_user_id is None:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"report {found.id} is not about a message")
    return found.room_id, found.event_id, found.target_user_id


async def confirm_remove(request: Request) -> Response:
    """GET /admin/reports/{report_id}/remove: what removing the message does, and whether it
    carries files to take out of reach with it (quarantine, checked by default)"""
    session = await require_session(request)
    found = await _report(request)
    room_id, event_id, _sender = _event_report(found)
    files = await services_of(request).media_admin.files_of_event(
        session.requester, room_id, event_id
    )
    return render(
        request, "reports/confirm.html", action="remove", report=found, messages=None, files=files
    )


async def confirm_remove_all(request: Request) -> Response:
    """GET /admin/reports/{report_id}/remove-all: how many messages the job would remove"""
    session = await require_session(request)
    found = await _report(request)
    _room, _event, sender = _event_report(found)
    counted = await services_of(request).redactions.start_user_redaction(
        session.requester, RedactionScope(sender), None, dry_run=True
    )
    return render(
        request, "reports/confirm.html", action="remove_all", report=found, messages=counted
    )


def _back(request: Request) -> RedirectResponse:
    return redirect(f"{ROOT}/reports/{request.path_params['report_id']}")


async def remove(request: Request) -> Response:
    """POST /admin/reports/{report_id}/remove (reason): redact the message, resolve the report"""
    session = await require_session(request)
    form = await read_form(request)
    found = await _report(request)
    room_id, event_id, _sender = _event_report(found)
    services = services_of(request)
    quarantined = 0
    if form_text(form, "quarantine_files") == "1":  # first: the content is still there to read
        quarantined = await services.media_admin.quarantine_event(
            session.requester, room_id, event_id
        )
    await services.redactions.redact_event(
        session.requester, room_id, event_id, form_text(form, "reason") or None
    )
    await services.reports.set_status(session.requester, found.id, "resolved")
    if quarantined:
        flash(
            request,
            N_("The message was removed, its files taken out of reach, and the report resolved."),
        )
    else:
        flash(request, N_("The message was removed and the report resolved."))
    return _back(request)


async def dismiss(request: Request) -> Response:
    """POST /admin/reports/{report_id}/dismiss"""
    session = await require_session(request)
    await read_form(request)
    await services_of(request).reports.set_status(
        session.requester, request.path_params["report_id"], "dismissed"
    )
    flash(request, N_("The report was dismissed."))
    return _back(request)


async def remove_all(request: Request) -> Response:
    """POST /admin/reports/{report_id}/remove-all (reason): queue the user-redaction job"""
    session = await require_session(request)
    form = await read_form(request)
    found = await _report(request)
    _room, _event, sender = _event_report(found)
    job = await services_of(request).redactions.start_user_redaction(
        session.requester, RedactionScope(sender), form_text(form, "reason") or None
    )
    if not isinstance(job, RedactionJob):  # not a dry run: the service returns the job
        raise TypeError(f"expected a redaction job, got {job!r}")
    await services_of(request).reports.set_status(session.requester, found.id, "resolved")
    return redirect(f"{ROOT}/redactions/{job.job_id}")


async def redaction(request: Request) -> Response:
    """GET /admin/redactions/{job_id}: a user-redaction job's progress"""
    session = await require_session(request)
    job = await services_of(request).redactions.job(
        session.requester, request.path_params["job_id"]
    )
    return render(request, "reports/redaction.html", job=job)


ROUTES = [
    Route("/reports", queue, methods=["GET"], name="console_reports"),
    Route("/reports/{report_id:int}", report, methods=["GET"], name="console_report"),
    Route("/reports/{report_id:int}/remove", confirm_remove, methods=["GET"]),
    Route("/reports/{report_id:int}/remove", remove, methods=["POST"]),
    Route("/reports/{report_id:int}/dismiss", dismiss, methods=["POST"]),
    Route("/reports/{report_id:int}/remove-all", confirm_remove_all, methods=["GET"]),
    Route("/reports/{report_id:int}/remove-all", remove_all, methods=["POST"]),
    Route("/redactions/{job_id}", redaction, methods=["GET"], name="console_redaction"),
]
