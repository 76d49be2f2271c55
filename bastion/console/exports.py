"""Console pages: compliance exports (start one, watch it, download it, read its manifest).

`/compliance/exports` has the form (rooms, people, a range of days, format, attachments) and the
exports started recently; `/compliance/exports/{export_id}` shows one job: a `<progress>` bar
and its status, which `static/console.js` refreshes every second from `.../status` (JSON) and
which a reload shows without JavaScript; once done, the download link and the manifest.

What stays true: the pages call only `ComplianceExports` (the service the admin API calls) and
read the manifest through `services/export/manifest.py`, as the signed-in admin's console
`Requester`: scheduling and downloading are checked and audited (`export.create`,
`export.download`) there. The list of recent exports is what the audit log recorded
(`export.create`, read through the audit reader): the service keeps no list of its own.
"""

from __future__ import annotations

from typing import Final

from babel.numbers import format_percent
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from bastion.console.errors import error_message
from bastion.console.pages import (
    ROOT,
    form_text,
    language_of,
    read_form,
    redirect,
    render,
    require_session,
    services_of,
)
from bastion.console.selection import day_end_ms, day_start_ms, id_list
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.reader import AuditQuery
from bastion.services.console.sessions import ConsoleSession
from bastion.services.export.jobs import DONE, FAILED, ExportStatus
from bastion.services.export.manifest import read_manifest
from bastion.services.export.request import ExportRequest

FORMATS: Final = ("jsonl", "csv", "eml")
EXPORTS_PATH: Final = f"{ROOT}/compliance/exports"
RECENT: Final = 20
_AUDIT_PAGE = 500
_FIELDS = ("rooms", "users", "from_day", "to_day", "format")


def _request_of(values: dict[str, str], include_media: bool) -> ExportRequest:
    """The service's request from the form (400 for a bad day or format)."""
    if values["format"] not in FORMATS:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"format: {values['format']!r}")
    return ExportRequest(
        rooms=id_list(values["rooms"]),
        users=id_list(values["users"]),
        from_ts=day_start_ms(values["from_day"], "from"),
        to_ts=day_end_ms(values["to_day"], "to"),
        format=values["format"],  # type: ignore[arg-type]  # checked against FORMATS above
        include_media=include_media,
    )


async def _recent(request: Request, session: ConsoleSession) -> list[ExportStatus]:
    """The last RECENT jobs the audit log saw created (CLI exports have no job: skipped)."""
    services = services_of(request)
    export_ids: list[str] = []
    after = 0
    while True:
        page = await services.audit_log.list(
            session.requester, AuditQuery(action="export.create", after=after, limit=_AUDIT_PAGE)
        )
        export_ids += [
            row.target
            for row in page
            if row.outcome == "success" and row.target and not row.target.startswith("cli-")
        ]
        del export_ids[:-RECENT]
        if len(page) < _AUDIT_PAGE:
            break
        after = page[-1].seq
    statuses = []
    for export_id in reversed(export_ids):
        try:
            statuses.append(await services.exports.status(session.requester, export_id))
        except MatrixError:  # 404: the job row is gone
            continue
    return statuses


async def _exports_page(
    request: Request,
    session: ConsoleSession,
    *,
    values: dict[str, str],
    include_media: bool = False,
    error: MatrixError | None = None,
) -> Response:
    return render(
        request,
        "compliance/exports.html",
        status=error.status if error is not None else 200,
        exports=await _recent(request, session),
        formats=FORMATS,
        values=values,
        include_media=include_media,
        error=error_message(error) if error is not None else None,
        error_detail=error.message if error is not None else "",
    )


async def exports(request: Request) -> Response:
    """GET /admin/compliance/exports"""
    session = await require_session(request)
    values = {**dict.fromkeys(_FIELDS, ""), "format": FORMATS[0]}
    return await _exports_page(request, session, values=values)


async def start(request: Request) -> Response:
    """POST /admin/compliance/exports (rooms, users, from_day, to_day, format, include_media)"""
    session = await require_session(request)
    form = await read_form(request)
    values = {name: form_text(form, name) for name in _FIELDS}
    include_media = form_text(form, "include_media") == "on"
    try:
        export_id = await services_of(request).exports.schedule(
            session.requester, _request_of(values, include_media)
        )
    except MatrixError as exc:
        return await _exports_page(
            request, session, values=values, include_media=include_media, error=exc
        )
    return redirect(f"{EXPORTS_PATH}/{export_id}")


async def export(request: Request) -> Response:
    """GET /admin/compliance/exports/{export_id}"""
    session = await require_session(request)
    export_id = request.path_params["export_id"]
    status = await services_of(request).exports.status(session.requester, export_id)
    manifest = None
    if status.status == DONE:
        manifest = await read_manifest(services_of(request).exports, session.requester, export_id)
    language = language_of(request)
    return render(
        request,
        "compliance/export.html",
        export=status,
        manifest=manifest,
        percent=lambda fraction: format_percent(fraction, locale=language),
    )


async def export_status(request: Request) -> Response:
    """GET /admin/compliance/exports/{export_id}/status → `{"status", "progress", "percent",
    "finished"}` (`percent` written for the page's language)"""
    session = await require_session(request)
    status = await services_of(request).exports.status(
        session.requester, request.path_params["export_id"]
    )
    return JSONResponse(
        {
            "status": status.status,
            "progress": status.progress,
            "percent": format_percent(status.progress, locale=language_of(request)),
            "finished": status.status in (DONE, FAILED),
        }
    )


async def download(request: Request) -> Response:
    """GET /admin/compliance/exports/{export_id}/download → the zip (audited by the service)"""
    session = await require_session(request)
    export_id = request.path_params["export_id"]
    path = await services_of(request).exports.download(session.requester, export_id)
    return FileResponse(
        path, media_type="application/zip", filename=f"bastion-export-{export_id}.zip"
    )


ROUTES = [
    Route("/compliance/exports", exports, methods=["GET"], name="console_exports"),
    Route("/compliance/exports", start, methods=["POST"]),
    Route("/compliance/exports/{export_id}", export, methods=["GET"]),
    Route("/compliance/exports/{export_id}/status", export_status, methods=["GET"]),
    Route("/compliance/exports/{export_id}/download", download, methods=["GET"]),
]
