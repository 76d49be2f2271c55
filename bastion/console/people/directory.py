"""The list of people (search by name or user ID) and creating a person."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.console.errors import error_message
from bastion.console.pages import (
    form_text,
    query_position,
    read_form,
    render,
    require_session,
    services_of,
)
from bastion.console.people.paths import one_time_password, person_path
from bastion.errors import MatrixError
from bastion.services.admin.users import UserChanges, UserListQuery

PAGE_SIZE = 50


async def people(request: Request) -> Response:
    """GET /admin/people?q=NAME&start=N"""
    session = await require_session(request)
    search = request.query_params.get("q", "").strip()
    start = query_position(request, "start")
    query = UserListQuery(name=search or None, start=start, limit=PAGE_SIZE)
    rows, total = await services_of(request).admin_users.list_users(session.requester, query)
    return render(
        request,
        "people/list.html",
        people=rows,
        total=total,
        search=search,
        next_start=start + PAGE_SIZE if start + PAGE_SIZE < total else None,
        person_path=person_path,
    )


async def new_person_page(request: Request) -> Response:
    """GET /admin/people/new"""
    await require_session(request)
    return render(request, "people/new.html", values={}, error=None)


async def create_person(request: Request) -> Response:
    """POST /admin/people/new: create the account with a one-time password, shown once."""
    session = await require_session(request)
    form = await read_form(request)
    services = services_of(request)
    values = {name: form_text(form, name) for name in ("localpart", "displayname", "manager")}
    password, actor = one_time_password(), session.requester
    try:
        # create_user, not put_user: an existing account must be refused, never modified.
        user_id = await services.accounts.create_user(
            actor, values["localpart"].lower(), password, is_admin=form.get("admin") == "on"
        )
        if values["displayname"]:
            changes = UserChanges(displayname=values["displayname"])
            await services.admin_users.put_user(actor, user_id, changes)
        if values["manager"]:
            manager = services.console_sessions.user_id_of(values["manager"])
            await services.admin_users.set_manager(actor, user_id, manager)
    except MatrixError as exc:
        return render(
            request, "people/new.html", status=exc.status, values=values,
            error=error_message(exc), detail=exc.message,
        )  # fmt: skip
    return render(
        request, "people/password.html", user_id=user_id, password=password, created=True,
        person_path=person_path,
    )  # fmt: skip


ROUTES: list[BaseRoute] = [
    Route("/people", people, methods=["GET"]),
    Route("/people/new", new_person_page, methods=["GET"]),
    Route("/people/new", create_person, methods=["POST"]),
]
