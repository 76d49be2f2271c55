"""SQL for pushers (`pushers`) and the notifications they still have to deliver.

`pending` enumerates a user's notifying events after a position from what the push recorder
already stored (see migrations/0009_create_push.sql): the user's own outcome rows
(`event_push_user`, notify set), plus the generic outcomes (`event_push_generic`) of rooms the
user is joined to, after their membership event, not sent by them, and not overridden by an
outcome row of theirs for the same event (muted rooms, ignored senders, own rules: those rows say
notify = 0). Both halves are index range scans: `event_push_user` by (user_id, stream_ordering),
`event_push_generic` by (room_id, stream_ordering) per joined room.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.protocols.pushers import PendingPush, PusherRecord
from bastion.store.sql.events import placeholders

_COLUMNS = (
    "user_id, app_id, pushkey, device_id, kind, app_display_name, device_display_name,"
    " profile_tag, lang, data, created_ts, last_stream_ordering, failing_since"
)

_PENDING = (
    "SELECT u.stream_ordering, u.room_id, u.event_id, u.actions FROM event_push_user u"
    " WHERE u.user_id = ? AND u.stream_ordering > ? AND u.stream_ordering <= ? AND u.notify = 1"
    " UNION ALL"
    " SELECT g.stream_ordering, g.room_id, g.event_id, g.actions FROM memberships m"
    " JOIN event_push_generic g ON g.room_id = m.room_id"
    " AND g.stream_ordering > m.stream_ordering"
    " WHERE m.user_id = ? AND m.membership = 'join' AND g.stream_ordering > ?"
    " AND g.stream_ordering <= ? AND g.notify = 1 AND g.sender <> ?"
    " AND NOT EXISTS (SELECT 1 FROM event_push_user x"
    " WHERE x.user_id = ? AND x.stream_ordering = g.stream_ordering)"
    " ORDER BY 1 LIMIT ?"
)


def _pusher(row: Row) -> PusherRecord:
    return PusherRecord(
        user_id=row[0], app_id=row[1], pushkey=row[2], device_id=row[3], kind=row[4],
        app_display_name=row[5], device_display_name=row[6], profile_tag=row[7], lang=row[8],
        data=row[9], created_ts=int(row[10]), last_stream_ordering=int(row[11]),
        failing_since=None if row[12] is None else int(row[12]),
    )  # fmt: skip


class SqlPusherStore:
    """Pushers keyed by (user_id, app_id, pushkey)."""

    async def upsert_pusher(self, q: Queryable, pusher: PusherRecord) -> None:
        """Create the pusher, or update it in place keeping how far delivery got."""
        p = pusher
        await q.execute(
            f"INSERT INTO pushers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
            " ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET"
            " device_id = excluded.device_id, kind = excluded.kind,"
            " app_display_name = excluded.app_display_name,"
            " device_display_name = excluded.device_display_name,"
            " profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data,"
            " created_ts = excluded.created_ts, failing_since = NULL",
            p.user_id, p.app_id, p.pushkey, p.device_id, p.kind, p.app_display_name,
            p.device_display_name, p.profile_tag, p.lang, p.data, p.created_ts,
            p.last_stream_ordering,
        )  # fmt: skip

    async def delete_pusher(self, q: Queryable, user_id: str, app_id: str, pushkey: str) -> int:
        return await q.execute(
            "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            user_id,
            app_id,
            pushkey,
        )

    async def delete_others(self, q: Queryable, user_id: str, app_id: str, pushkey: str) -> int:
        """Delete the pushers with this app_id and pushkey that belong to other users."""
        return await q.execute(
            "DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id <> ?",
            app_id,
            pushkey,
            user_id,
        )

    async def pushers_of(self, q: Queryable, user_id: str) -> list[PusherRecord]:
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM pushers WHERE user_id = ?"
            " ORDER BY created_ts, app_id, pushkey",
            user_id,
        )
        return [_pusher(row) for row in rows]

    async def users_with_pushers(self, q: Queryable) -> list[str]:
        rows = await q.fetch_all("SELECT DISTINCT user_id FROM pushers")
        return [str(row[0]) for row in rows]

    async def pending(
        self, q: Queryable, user_id: str, *, after: int, upto: int, limit: int
    ) -> list[PendingPush]:
        """The user's notifying events in (after, upto], oldest first."""
        rows = await q.fetch_all(
            _PENDING, user_id, after, upto, user_id, after, upto, user_id, user_id, limit
        )
        return [PendingPush(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    async def set_progress(
        self, q: Queryable, pusher: PusherRecord, *, position: int, failing_since: int | None
    ) -> None:
        """Record how far delivery got (never backwards) and whether it is failing."""
        await q.execute(
            "UPDATE pushers SET failing_since = ?,"
            " last_stream_ordering = CASE WHEN last_stream_ordering < CAST(? AS BIGINT)"
            " THEN CAST(? AS BIGINT)"
            " ELSE last_stream_ordering END"
            " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            failing_since,
            position,
            position,
            pusher.user_id,
            pusher.app_id,
            pusher.pushkey,
        )

    async def delete_rejected(
        self, q: Queryable, user_id: str, app_id: str, pushkeys: Sequence[str]
    ) -> int:
        """Delete the user's pushers of `app_id` whose pushkey the gateway rejected."""
        if not pushkeys:
            return 0
        return await q.execute(
            "DELETE FROM pushers WHERE user_id = ? AND app_id = ?"
            f" AND pushkey IN ({placeholders(len(pushkeys))})",
            user_id,
            app_id,
            *pushkeys,
        )
