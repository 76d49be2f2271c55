"""Offboarding a person: the confirmation page (what will happen: the rooms they leave, which
rooms lose their last admin and who succeeds them) and then the workflow's report."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.console.pages import read_form, render, require_session, services_of
from bastion.console.people.paths import person_path


async def confirm_offboard(request: Request) -> Response:
    """GET /admin/people/{user_id}/offboard: the dry run."""
    session = await require_session(request)
    user_id = request.path_params["user_id"]
    preview = await services_of(request).offboarding.preview(session.requester, user_id)
    return render(
        request, "people/offboard.html", user_id=user_id, preview=preview,
        back=person_path(user_id), action=person_path(user_id, "offboard"),
    )  # fmt: skip


async def offboard(request: Request) -> Response:
    """POST /admin/people/{user_id}/offboard: run the workflow, show its report."""
    session = await require_session(request)
    form = await read_form(request)
    user_id = request.path_params["user_id"]
    report = await services_of(request).offboarding.offboard(
        session.requester, user_id, erase=form.get("erase") == "on"
    )
    return render(
        request, "people/report.html", user_id=user_id, report=report,
        back=person_path(user_id),
    )  # fmt: skip


ROUTES: list[BaseRoute] = [
    Route("/people/{user_id}/offboard", confirm_offboard, methods=["GET"]),
    Route("/people/{user_id}/offboard", offboard, methods=["POST"]),
]
