"""Console pages: storage (the files people upload).

`/storage` lists who stores how much (`MediaUsage.by_user`: files and bytes, largest first, 50 a
page, a search by name or user ID), with the form that deletes the files nobody has
downloaded since a date; `/storage/delete` is its confirmation page (GET: what will be deleted,
in words) and the deletion (POST). `/storage/rooms` shows the ten rooms whose messages take the
most space (`RoomSizes.largest`), each linking to its room's page, where its old messages can be
deleted.

What stays true: the pages call the services the admin API calls (`media_usage`,
`media_admin.delete_unused`) as the signed-in admin's console `Requester`, so the deletion is
checked and audited there (`media.delete`), and its rules hold here too: quarantined and
protected files and files a legal hold needs are never deleted, and avatars in use are kept
unless the admin unticks the box. A malformed date or size is a readable refusal, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.console.pages import (
    ROOT,
    flash,
    query_position,
    read_form,
    redirect,
    render,
    require_session,
    services_of,
)
from bastion.console.people.paths import person_path
from bastion.console.selection import midnight_ms, parse_day
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.media.usage import MediaUsageQuery
from bastion.services.principal import Principal

PAGE_SIZE = 50
STORAGE_PATH = f"{ROOT}/storage"
MEGABYTE = 10**6
MAX_SIZE_MB = 10**9  # a bound that keeps the byte count within a database integer


async def storage(request: Request) -> Response:
    """GET /admin/storage?search=&from="""
    session = await require_session(request)
    params = request.query_params
    start = query_position(request, "from")
    search = params.get("search", "").strip()
    query = MediaUsageQuery(
        order_by="media_length",
        backwards=True,
        start=start,
        limit=PAGE_SIZE,
        search_term=search or None,
    )
    rows, total = await services_of(request).media_usage.by_user(session.requester, query)
    following = start + len(rows)
    next_link = (
        "?" + urlencode({"search": search, "from": str(following)}) if following < total else None
    )
    return render(
        request,
        "storage/index.html",
        users=rows,
        total=total,
        search=search,
        next_link=next_link,
        person_path=person_path,
    )


async def largest_rooms(request: Request) -> Response:
    """GET /admin/storage/rooms: the ten rooms whose messages take the most space (a page of
    its own: the estimate reads every stored event, too slow for each visit to /storage)."""
    session = await require_session(request)
    largest = await services_of(request).room_sizes.largest(session.requester)
    rooms = [(size, await _room_name(request, session.requester, size.room_id)) for size in largest]
    return render(request, "storage/rooms.html", rooms=rooms)


async def _room_name(request: Request, requester: Principal, room_id: str) -> str | None:
    """The name the inventory shows for a room (None: none, or the room is gone)."""
    try:
        details = await services_of(request).room_admin.details(requester, room_id)
    except MatrixError:
        return None
    return details.summary.name or details.summary.canonical_alias


class Deletion:
    """The deletion the form asks for: files unused since `before` (a day, from its midnight
    UTC), larger than `size_mb` megabytes, avatars kept or not."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.before = parse_day(values.get("before", ""), "before")
        size = values.get("size_mb", "").strip() or "0"
        if not size.isdigit() or int(size) > MAX_SIZE_MB:
            raise MatrixError(400, Errcode.INVALID_PARAM, "give the size as a whole number of MB")
        self.size_mb = int(size)
        self.keep_avatars = values.get("keep_avatars") == "1"

    @property
    def before_ts(self) -> int:
        return midnight_ms(self.before)


async def confirm_delete(request: Request) -> Response:
    """GET /admin/storage/delete?before=&size_mb=&keep_avatars="""
    await require_session(request)
    deletion = Deletion(request.query_params)
    return render(request, "storage/confirm.html", deletion=deletion)


async def delete(request: Request) -> Response:
    """POST /admin/storage/delete (before, size_mb, keep_avatars)"""
    session = await require_session(request)
    form = await read_form(request)
    deletion = Deletion({key: value for key, value in form.items() if isinstance(value, str)})
    deleted = await services_of(request).media_admin.delete_unused(
        session.requester,
        deletion.before_ts,
        deletion.size_mb * MEGABYTE,
        keep_avatars=deletion.keep_avatars,
    )
    flash(request, N_("Files deleted: %(count)s"), count=str(len(deleted)))
    return redirect(STORAGE_PATH)


ROUTES = [
    Route("/storage", storage, methods=["GET"]),
    Route("/storage/rooms", largest_rooms, methods=["GET"]),
    Route("/storage/delete", confirm_delete, methods=["GET"]),
    Route("/storage/delete", delete, methods=["POST"]),
]
