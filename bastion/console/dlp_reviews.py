"""Console pages: the DLP review queue (what `flag` policies matched) and resolving an entry.

`/compliance/dlp?status=open|resolved|all&from=` lists the queue, oldest first (open entries by
default); `/compliance/dlp/{review_id}/resolve` shows the entry with a field for the resolution
("false positive", "user coached", ...), and its POST closes it.

What stays true: the pages call only `DlpAdmin` (the service the admin API calls) as the
signed-in admin's console `Requester`, so resolving is checked and audited
(`dlp.review.resolve`) there. The queue never holds the matched text (only the policy, the
detectors and the fields), so neither do these pages.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
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
from bastion.services.console.sessions import ConsoleSession
from bastion.services.dlp.reviews import DlpReview

PAGE_SIZE: Final = 50
STATUSES: Final = {"open": "open", "resolved": "resolved", "all": None}
QUEUE_PATH: Final = f"{ROOT}/compliance/dlp"


async def queue(request: Request) -> Response:
    """GET /admin/compliance/dlp?status=open|resolved|all&from="""
    session = await require_session(request)
    params = request.query_params
    status = params.get("status", "open")
    status = status if status in STATUSES else "open"
    rows = await services_of(request).dlp.list_reviews(
        session.requester,
        status=STATUSES[status],
        after=query_position(request, "from"),
        limit=PAGE_SIZE + 1,
    )
    page = rows[:PAGE_SIZE]
    return render(
        request,
        "compliance/dlp_queue.html",
        reviews=page,
        statuses=tuple(STATUSES),
        current_status=status,
        next_from=page[-1].review_id if len(rows) > PAGE_SIZE else None,
    )


def _review_id(request: Request) -> int:
    raw = request.path_params["review_id"]
    if not raw.isdigit():
        raise MatrixError(404, Errcode.NOT_FOUND, f"No DLP review {raw!r}")
    return int(raw)


async def _find_review(request: Request, session: ConsoleSession, review_id: int) -> DlpReview:
    """The entry `review_id` (the queue pages by ID: the first entry after `review_id - 1`)."""
    found = await services_of(request).dlp.list_reviews(
        session.requester, status=None, after=review_id - 1, limit=1
    )
    if not found or found[0].review_id != review_id:
        raise MatrixError(404, Errcode.NOT_FOUND, f"No DLP review {review_id}")
    return found[0]


async def confirm_resolve(request: Request) -> Response:
    """GET /admin/compliance/dlp/{review_id}/resolve"""
    session = await require_session(request)
    review = await _find_review(request, session, _review_id(request))
    return render(request, "compliance/dlp_resolve.html", review=review)


async def resolve(request: Request) -> Response:
    """POST /admin/compliance/dlp/{review_id}/resolve (resolution)"""
    session = await require_session(request)
    form = await read_form(request)
    review_id = _review_id(request)
    await services_of(request).dlp.resolve(
        session.requester, review_id, form_text(form, "resolution")
    )
    flash(request, N_("Review %(id)s resolved."), id=review_id)
    return redirect(QUEUE_PATH)


ROUTES = [
    Route("/compliance/dlp", queue, methods=["GET"], name="console_dlp_reviews"),
    Route("/compliance/dlp/{review_id}/resolve", confirm_resolve, methods=["GET"]),
    Route("/compliance/dlp/{review_id}/resolve", resolve, methods=["POST"]),
]
