"""Unread notification counts for /sync and the `GET /notifications` list.

Counts come from what the recorder stored with each event (generic outcomes with running totals
per thread, and each user's differing outcomes) and the read marks that receipts move
(spec: #receiving-notifications, #marking-notifications-as-read). A receipt without a thread
moves the marks of every thread of the room, a `main` receipt the main timeline's, a thread
receipt that thread's; a mark never moves back, so of m.read and m.read.private whichever is
further ahead wins. Counts are clamped at zero.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.principal import Requester
from bastion.services.relations.thread_of import MAIN_THREAD
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database, Queryable
from bastion.store.protocols.push import NotificationQuery, PushActionStore, UnreadCount

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _counts(notifications: int = 0, highlights: int = 0) -> JsonObject:
    return {"notification_count": notifications, "highlight_count": highlights}


class NotificationService:
    """Reads notifications; marks them read when a receipt passes them."""

    def __init__(
        self,
        db: Database,
        actions: PushActionStore,
        visibility: VisibilityService,
        formatter: EventFormatter,
    ) -> None:
        self._db = db
        self._actions = actions
        self._visibility = visibility
        self._formatter = formatter

    async def mark_read(
        self, q: Queryable, user_id: str, room_id: str, *, upto: int, receipt_thread: str
    ) -> None:
        """Apply a receipt (thread '' means unthreaded) at stream position `upto`."""
        if receipt_thread:
            await self._actions.mark_read(q, user_id, room_id, receipt_thread, upto=upto)
        else:
            await self._actions.mark_all_threads_read(q, user_id, room_id, upto=upto)

    async def unread(
        self,
        user_id: str,
        room_ids: Sequence[str],
        *,
        by_thread: bool,
        prefetched: tuple[Collection[str], Sequence[UnreadCount]] = ((), ()),
    ) -> dict[str, JsonObject]:
        """room_id -> the `unread_notifications` (and, `by_thread`, the
        `unread_thread_notifications`) fields of that joined room, in one query (none when
        `prefetched` holds the rooms' `unread_counts` rows already: (rooms, their rows))."""
        known, wanted = prefetched[0], set(room_ids)
        rows = [row for row in prefetched[1] if row.room_id in wanted]
        rest = [room_id for room_id in room_ids if room_id not in known]
        if rest:
            rows += await self._actions.unread_counts(self._db, user_id, rest)
        per_thread: dict[tuple[str, str], list[int]] = {}
        for row in rows:  # generic totals and the user's own corrections, added up
            counts = per_thread.setdefault((row.room_id, row.thread_id), [0, 0])
            counts[0] += row.notifications
            counts[1] += row.highlights
        totals: dict[str, list[int]] = {room_id: [0, 0] for room_id in room_ids}
        threads: dict[str, JsonObject] = {}
        for (room_id, thread_id), (raw_notifications, raw_highlights) in per_thread.items():
            notifications, highlights = max(raw_notifications, 0), max(raw_highlights, 0)
            if by_thread and thread_id != MAIN_THREAD:
                if notifications or highlights:
                    threads.setdefault(room_id, {})[thread_id] = _counts(notifications, highlights)
                continue
            total = totals.setdefault(room_id, [0, 0])
            total[0] += notifications
            total[1] += highlights
        result: dict[str, JsonObject] = {}
        for room_id, (notifications, highlights) in totals.items():
            fields: JsonObject = {"unread_notifications": _counts(notifications, highlights)}
            if by_thread:
                fields["unread_thread_notifications"] = threads.get(room_id, {})
            result[room_id] = fields
        return result

    async def page(
        self, requester: Requester, *, from_token: str | None, limit: int | None, only: str | None
    ) -> JsonObject:
        """`GET /notifications`: newest first, events the user may still see."""
        wanted = min(max(limit if limit is not None else DEFAULT_LIMIT, 1), MAX_LIMIT)
        query = NotificationQuery(
            requester.user_id, _parse_from(from_token), wanted, only_highlight=only == "highlight"
        )
        rows = await self._actions.notifications(self._db, query)
        marks = await self._actions.read_marks(
            self._db, requester.user_id, list({r.room_id for r in rows})
        )
        visible = await self._visible_events(requester.user_id, [r.event_id for r in rows])
        formatted = await self._formatter.format(list(visible.values()), requester)
        bodies = dict(zip(visible, formatted, strict=True))
        notifications: list[JsonObject] = []
        for row in rows:
            body = bodies.get(row.event_id)
            if body is None:
                continue
            body.pop("room_id", None)
            read = row.stream_ordering <= marks.get((row.room_id, row.thread_id), 0)
            notifications.append({
                "actions": msgspec.json.decode(row.actions), "event": body, "read": read,
                "room_id": row.room_id, "ts": row.ts,
            })  # fmt: skip
        response: JsonObject = {"notifications": notifications}
        if len(rows) == wanted:
            response["next_token"] = str(rows[-1].stream_ordering)
        return response

    async def _visible_events(self, viewer: str, event_ids: list[str]) -> dict[str, StoredEvent]:
        """The events the viewer may still see and that are not redacted, by ID (one visibility
        check per room)."""
        return await self._visibility.visible_events(viewer, event_ids, live_only=True)


def _parse_from(token: str | None) -> int | None:
    if token is None:
        return None
    if not token.isdigit() or len(token) > 18:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid from token {token!r}")
    return int(token)
