"""Unread notification counts for /sync and the `GET /notifications` list.

Counts come from the rows the recorder stored with each event and that receipts mark read
(spec: #receiving-notifications, #marking-notifications-as-read). A receipt without a thread
clears the whole room up to its event, a `main` receipt the main timeline, a thread receipt
that thread; m.read and m.read.private both clear, so whichever is further ahead wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.services.auth import Requester
from bastion.services.relations.thread_of import MAIN_THREAD
from bastion.services.rooms.formatter import EventFormatter
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database, Queryable
from bastion.store.protocols import EventStore
from bastion.store.protocols.push import PushActionStore

JsonObject = dict[str, Any]
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
        events: EventStore,
        visibility: VisibilityService,
        formatter: EventFormatter,
    ) -> None:
        self._db = db
        self._actions = actions
        self._events = events
        self._visibility = visibility
        self._formatter = formatter

    async def mark_read(
        self, q: Queryable, user_id: str, room_id: str, *, upto: int, receipt_thread: str
    ) -> None:
        """Apply a receipt (thread '' means unthreaded) at stream position `upto`."""
        await self._actions.mark_read(
            q, user_id, room_id, upto=upto, thread_id=receipt_thread or None
        )

    async def unread(
        self, user_id: str, room_ids: Sequence[str], *, by_thread: bool
    ) -> dict[str, JsonObject]:
        """room_id -> the `unread_notifications` (and, `by_thread`, the
        `unread_thread_notifications`) fields of that joined room, in one query."""
        rows = await self._actions.unread_counts(self._db, user_id, room_ids)
        totals: dict[str, list[int]] = {room_id: [0, 0] for room_id in room_ids}
        threads: dict[str, JsonObject] = {}
        for row in rows:
            if by_thread and row.thread_id != MAIN_THREAD:
                threads.setdefault(row.room_id, {})[row.thread_id] = _counts(
                    row.notifications, row.highlights
                )
                continue
            total = totals.setdefault(row.room_id, [0, 0])
            total[0] += row.notifications
            total[1] += row.highlights
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
        before = _parse_from(from_token)
        wanted = min(max(limit if limit is not None else DEFAULT_LIMIT, 1), MAX_LIMIT)
        rows = await self._actions.notifications(
            self._db, requester.user_id, before=before, limit=wanted,
            only_highlight=only == "highlight",
        )  # fmt: skip
        events = await self._events.get_events(self._db, [r.event_id for r in rows])
        notifications: list[JsonObject] = []
        for row in rows:
            event = events.get(row.event_id)
            if event is None or not await self._visibility.filter_events(
                requester.user_id, [event]
            ):
                continue
            body = await self._formatter.format_one(event, requester)
            body.pop("room_id", None)
            notifications.append({
                "actions": msgspec.json.decode(row.actions), "event": body, "read": row.is_read,
                "room_id": row.room_id, "ts": row.ts,
            })  # fmt: skip
        response: JsonObject = {"notifications": notifications}
        if len(rows) == wanted:
            response["next_token"] = str(rows[-1].stream_ordering)
        return response


def _parse_from(token: str | None) -> int | None:
    if token is None:
        return None
    if not token.isdigit() or len(token) > 18:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid from token {token!r}")
    return int(token)
