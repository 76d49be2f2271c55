"""Console pages: the compliance overview and legal holds (place, list, release).

`/compliance` links the compliance pages (holds, exports, the DLP review queue);
`/compliance/holds` lists the holds, oldest first, with the form that places one (case, reason,
users and rooms one a line); `/compliance/holds/{hold_id}/release` is the confirmation page
saying what releasing will allow, then the POST that releases.

What stays true: the pages call only `LegalHolds` (the service the admin API calls) as the
signed-in admin's console `Requester`, so placing and releasing are checked and audited
(`hold.place`, `hold.release`) there, never here. A refused placement is shown above the form
with what the admin typed kept; other refusals are the console's error page (errors.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.console.errors import error_message
from bastion.console.pages import (
    ROOT,
    flash,
    form_text,
    read_form,
    redirect,
    render,
    require_session,
    services_of,
)
from bastion.console.selection import id_list
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.console.sessions import ConsoleSession
from bastion.services.legal_hold.holds import HoldRow, HoldSpec

PAGE_SIZE = 50
HOLDS_PATH = f"{ROOT}/compliance/holds"
_FIELDS = ("case", "reason", "users", "rooms")


async def overview(request: Request) -> Response:
    """GET /admin/compliance"""
    await require_session(request)
    return render(request, "compliance/index.html")


async def _holds_page(
    request: Request,
    session: ConsoleSession,
    *,
    values: dict[str, str],
    error: MatrixError | None = None,
) -> Response:
    after = request.query_params.get("from", "")
    rows = await services_of(request).legal_holds.list(
        session.requester, after=after, limit=PAGE_SIZE + 1
    )
    page = rows[:PAGE_SIZE]
    return render(
        request,
        "compliance/holds.html",
        status=error.status if error is not None else 200,
        holds=page,
        next_from=page[-1].hold_id if len(rows) > PAGE_SIZE else None,
        values=values,
        error=error_message(error) if error is not None else None,
        error_detail=error.message if error is not None else "",
    )


async def holds(request: Request) -> Response:
    """GET /admin/compliance/holds?from="""
    session = await require_session(request)
    return await _holds_page(request, session, values=dict.fromkeys(_FIELDS, ""))


async def place(request: Request) -> Response:
    """POST /admin/compliance/holds (case, reason, users, rooms)"""
    session = await require_session(request)
    form = await read_form(request)
    values = {name: form_text(form, name) for name in _FIELDS}
    spec = HoldSpec(
        case=values["case"],
        reason=values["reason"],
        users=id_list(values["users"]),
        rooms=id_list(values["rooms"]),
    )
    try:
        hold = await services_of(request).legal_holds.place(session.requester, spec)
    except MatrixError as exc:
        return await _holds_page(request, session, values=values, error=exc)
    flash(request, N_("Hold placed for case %(case)s."), case=hold.case)
    return redirect(HOLDS_PATH)


async def _find_hold(request: Request, session: ConsoleSession, hold_id: str) -> HoldRow:
    """The hold `hold_id` (404 otherwise). The service lists holds by ID after a given ID: IDs
    are `hold_<time>_<hex>`, so listing after the ID without its last character reaches it
    within the 16 IDs that can share that prefix."""
    found = await services_of(request).legal_holds.list(
        session.requester, after=hold_id[:-1], limit=17
    )
    for hold in found:
        if hold.hold_id == hold_id:
            return hold
    raise MatrixError(404, Errcode.NOT_FOUND, f"no hold {hold_id!r}")


async def confirm_release(request: Request) -> Response:
    """GET /admin/compliance/holds/{hold_id}/release"""
    session = await require_session(request)
    hold = await _find_hold(request, session, request.path_params["hold_id"])
    return render(request, "compliance/hold_release.html", hold=hold)


async def release(request: Request) -> Response:
    """POST /admin/compliance/holds/{hold_id}/release"""
    session = await require_session(request)
    await read_form(request)
    hold = await services_of(request).legal_holds.release(
        session.requester, request.path_params["hold_id"]
    )
    flash(request, N_("Hold for case %(case)s released."), case=hold.case)
    return redirect(HOLDS_PATH)


ROUTES = [
    Route("/compliance", overview, methods=["GET"], name="console_compliance"),
    Route("/compliance/holds", holds, methods=["GET"], name="console_holds"),
    Route("/compliance/holds", place, methods=["POST"]),
    Route("/compliance/holds/{hold_id}/release", confirm_release, methods=["GET"]),
    Route("/compliance/holds/{hold_id}/release", release, methods=["POST"]),
]
