"""Console pages: the rooms (the organisation's groups).

`/rooms` is the inventory with its filters and pages, `/rooms/export` the same rows as CSV or
XLSX, `/rooms/{room_id}` one room (members, admins, topic as the group's rules, encryption,
last activity, whether joining is blocked, its latest history purges) with its actions: add a
person, make admin, remove a member, block or allow joining, delete the messages sent before a
day (a history purge: services/retention/history_purge.py), close the room.

What stays true: a page only calls the services the admin API calls (`room_admin`,
`room_export`, `promoter`, `removals`, `room_entry`, `room_blocks`, `room_deletion`,
`history_purges`) as the
signed-in admin's console
`Requester`, so each action is checked and audited there, never here. Every destructive action
is a GET confirmation page saying what will happen, then a POST carrying the CSRF token; a
service's refusal is shown on the page (translated summary, the service's detail in `<bdi>`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData
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
from bastion.console.selection import midnight_ms, parse_day
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.admin.room_deletion import DeletionOptions
from bastion.services.admin.room_export import FORMATS
from bastion.services.admin.rooms import InventoryQuery
from bastion.services.retention.history_purge import PurgePoint

PAGE_SIZE = 50
_TRI_STATE = ("", "true", "false")


def _tri_state(value: str | None) -> bool | None:
    """A filter select's value: "" no filter, "true" / "false"."""
    return {"true": True, "false": False}.get(value or "")


def _query(request: Request) -> InventoryQuery:
    """The inventory filters from the query string; a malformed number means no filter."""
    params = request.query_params
    inactive = params.get("inactive_days", "").strip()
    return InventoryQuery(
        start=query_position(request, "from"),
        limit=PAGE_SIZE,
        inactive_days=int(inactive) if inactive.isdigit() else None,
        no_admin=_tri_state(params.get("no_admin")),
        encrypted=_tri_state(params.get("encrypted")),
        search=params.get("search", "").strip() or None,
    )


def _filters(request: Request) -> dict[str, str]:
    """The filters as the form shows them (and as the page and export links carry them)."""
    params = request.query_params
    return {
        "inactive_days": params.get("inactive_days", "").strip(),
        "no_admin": params.get("no_admin", "") if params.get("no_admin") in _TRI_STATE else "",
        "encrypted": params.get("encrypted", "") if params.get("encrypted") in _TRI_STATE else "",
        "search": params.get("search", "").strip(),
    }


async def inventory(request: Request) -> Response:
    """GET /admin/rooms?inactive_days=&no_admin=&encrypted=&search=&from="""
    session = await require_session(request)
    page = await services_of(request).room_admin.inventory(session.requester, _query(request))
    filters = _filters(request)
    next_link = (
        "?" + urlencode({**filters, "from": str(page.next)}) if page.next is not None else None
    )
    return render(
        request,
        "rooms/inventory.html",
        rooms=page.entries,
        filters=filters,
        query_string=urlencode(filters),
        next_link=next_link,
    )


async def export(request: Request) -> Response:
    """GET /admin/rooms/export?format=csv|xlsx (the inventory's filters)"""
    session = await require_session(request)
    file_format = request.query_params.get("format", "csv")
    if file_format not in FORMATS:
        file_format = "csv"
    data = await services_of(request).room_export.export(
        session.requester, _query(request), file_format, rtl=session.language == "ar"
    )
    headers = {"Content-Disposition": f'attachment; filename="bastion-rooms.{file_format}"'}
    return Response(data, media_type=FORMATS[file_format], headers=headers)


async def room(request: Request) -> Response:
    """GET /admin/rooms/{room_id}"""
    session = await require_session(request)
    services = services_of(request)
    room_id = request.path_params["room_id"]
    details = await services.room_admin.details(session.requester, room_id)
    members = await services.room_admin.members(session.requester, room_id)
    try:
        closing = await services.room_deletion.statuses_of_room(session.requester, room_id)
    except MatrixError as exc:
        if exc.errcode != Errcode.NOT_FOUND:  # 404: the room has no deletion job
            raise
        closing = []
    blocked_by = await services.room_blocks.blocked_by(session.requester, room_id)
    purges = await services.history_purges.of_room(session.requester, room_id)
    return render(
        request,
        "rooms/room.html",
        room=details.summary,
        members=members,
        admins=set(details.summary.admins),
        closing=closing,
        blocked_by=blocked_by,
        purges=purges,
    )


def _reason(form: FormData) -> str | None:
    return form_text(form, "reason") or None


async def _confirm(request: Request, action: str) -> Response:
    """The confirmation page of `action` (promote, remove, close, add, block, unblock,
    purge)."""
    session = await require_session(request)
    room_id = request.path_params["room_id"]
    details = await services_of(request).room_admin.details(session.requester, room_id)
    before = None
    if action == "purge":
        before = parse_day(request.query_params.get("before", ""), "before")
    return render(
        request,
        "rooms/confirm.html",
        action=action,
        room=details.summary,
        user_id=request.query_params.get("user_id", "").strip(),
        before=before,
        before_ts=midnight_ms(before) if before is not None else None,
    )


CONFIRMED = ("promote", "remove", "close", "add", "block", "unblock", "purge")  # GET, then POST


def _confirmation(action: str) -> Callable[[Request], Awaitable[Response]]:
    """GET /admin/rooms/{room_id}/<action>[?user_id=]: the action's confirmation page."""

    async def page(request: Request) -> Response:
        return await _confirm(request, action)

    return page


def room_path(room_id: str) -> str:
    """The console path of a room's page."""
    return f"{ROOT}/rooms/{quote(room_id, safe='')}"


def _back_to_room(request: Request) -> RedirectResponse:
    return redirect(room_path(request.path_params["room_id"]))


async def promote(request: Request) -> Response:
    """POST /admin/rooms/{room_id}/promote (user_id): make a member a room admin"""
    session = await require_session(request)
    form = await read_form(request)
    user_id = form_text(form, "user_id")
    await services_of(request).promoter.promote(
        session.requester, request.path_params["room_id"], user_id, level=100
    )
    flash(request, N_("<bdi>%(user_id)s</bdi> is now an admin of this room."), user_id=user_id)
    return _back_to_room(request)


async def remove(request: Request) -> Response:
    """POST /admin/rooms/{room_id}/remove (user_id, reason): kick, as the moderation account"""
    session = await require_session(request)
    form = await read_form(request)
    user_id = form_text(form, "user_id")
    await services_of(request).removals.remove_member(
        session.requester, request.path_params["room_id"], user_id, _reason(form)
    )
    flash(request, N_("<bdi>%(user_id)s</bdi> was removed from this room."), user_id=user_id)
    return _back_to_room(request)


async def add(request: Request) -> Response:
    """POST /admin/rooms/{room_id}/add (user_id): the person joins (invited first by the room's
    most powerful local member unless the room is public)"""
    session = await require_session(request)
    form = await read_form(request)
    user_id = form_text(form, "user_id")
    await services_of(request).room_entry.force_join(
        session.requester, request.path_params["room_id"], user_id
    )
    flash(request, N_("<bdi>%(user_id)s</bdi> was added to this room."), user_id=user_id)
    return _back_to_room(request)


async def _set_blocked(request: Request, blocked: bool) -> Response:
    session = await require_session(request)
    await read_form(request)  # the CSRF check
    await services_of(request).room_blocks.set_blocked(
        session.requester, request.path_params["room_id"], blocked
    )
    if blocked:
        flash(request, N_("Joining this room is now blocked."))
    else:
        flash(request, N_("Joining this room is allowed again."))
    return _back_to_room(request)


async def block(request: Request) -> Response:
    """POST /admin/rooms/{room_id}/block: nobody here may join or be invited; members stay"""
    return await _set_blocked(request, True)


async def unblock(request: Request) -> Response:
    """POST /admin/rooms/{room_id}/unblock (also lifts a closed room's block)"""
    return await _set_blocked(request, False)


async def purge(request: Request) -> Response:
    """POST /admin/rooms/{room_id}/purge (before): the room's messages sent before the day go,
    this server's users' too (a background job; state, held messages, the last message before
    the day and the room's latest stay)"""
    session = await require_session(request)
    form = await read_form(request)
    point = PurgePoint(before_ts=midnight_ms(parse_day(form_text(form, "before"), "before")))
    await services_of(request).history_purges.start(
        session.requester, request.path_params["room_id"], point, delete_local=True
    )
    flash(request, N_("The old messages are being deleted. This page shows when it is done."))
    return _back_to_room(request)


async def close(request: Request) -> Response:
    """POST /admin/rooms/{room_id}/close (reason): every local member leaves, joins blocked;
    the history is kept (no purge)."""
    session = await require_session(request)
    form = await read_form(request)
    options = DeletionOptions(block=True, purge=False, message=_reason(form))
    await services_of(request).room_deletion.schedule(
        session.requester, request.path_params["room_id"], options
    )
    flash(request, N_("The room is being closed: its members are removed and it is blocked."))
    return _back_to_room(request)


ROUTES = [
    Route("/rooms", inventory, methods=["GET"], name="console_rooms"),
    Route("/rooms/export", export, methods=["GET"], name="console_rooms_export"),
    Route("/rooms/{room_id}", room, methods=["GET"], name="console_room"),
    *(
        Route(f"/rooms/{{room_id}}/{word}", _confirmation(word), methods=["GET"])
        for word in CONFIRMED
    ),
    Route("/rooms/{room_id}/promote", promote, methods=["POST"]),
    Route("/rooms/{room_id}/remove", remove, methods=["POST"]),
    Route("/rooms/{room_id}/close", close, methods=["POST"]),
    Route("/rooms/{room_id}/add", add, methods=["POST"]),
    Route("/rooms/{room_id}/block", block, methods=["POST"]),
    Route("/rooms/{room_id}/unblock", unblock, methods=["POST"]),
    Route("/rooms/{room_id}/purge", purge, methods=["POST"]),
]
