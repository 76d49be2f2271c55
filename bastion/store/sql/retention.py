"""SQL of the retention purge: expired message events and old redacted originals.

What a purge may delete is decided by one WHERE clause (`_EXPIRED`), used both to count (dry
run) and to delete, so the two cannot disagree. It selects only message events (no state key:
current state, the auth chain and every state event stay), never the room's latest event
(`rooms.last_event_id`, the next event's `prev_events`), and never a held one (`not_held`).
The rows other tables keep for a deleted event (search index, relations, threads, push actions,
redacted originals, transaction IDs) go in the same transaction, and so does media that no
stored event, original or profile names any more (`delete_unreferenced_media`).
"""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from bastion.store.database import Queryable
from bastion.store.protocols.compliance import DeletedMedia, PurgedEvent
from bastion.store.sql.holds import not_held
from bastion.store.sql.like import escape_like
from bastion.store.sql.media import delete_media_row
from bastion.store.sql.media_references import named_in

RETENTION_TYPE = "m.room.retention"

# Is a file still named (media ID and URI pattern for each table, then the URI): through the
# media reference index, never a scan of every event (store/sql/media_references.py).
_MEDIA_REFERENCED = (
    f"SELECT 1 WHERE {named_in('events', 'e')}"
    f" OR {named_in('redacted_event_originals', 'o')}"
    f" OR {named_in('held_event_originals', 'h')}"
    " OR EXISTS (SELECT 1 FROM profiles WHERE avatar_url = ?)"
)

# What any purge may delete of a room (its ID the first parameter): message events only, never
# the room's latest, never a held one. Each purge adds its own cut after it.
_PURGEABLE = (
    "e.room_id = ? AND e.state_key IS NULL"
    " AND e.event_id <> (SELECT r.last_event_id FROM rooms r WHERE r.room_id = e.room_id)"
    f" AND {not_held('e.room_id', 'e.sender')}"
)
_EXPIRED = f"{_PURGEABLE} AND e.origin_server_ts < ?"  # room, before_ts
# An admin's purge up to a point (history_purge.py): room, before_position, then for a purge
# of other servers' events only, the LIKE pattern of this server's users.
_BEFORE_POSITION = f"{_PURGEABLE} AND e.stream_ordering < ?"
_REMOTE_ONLY = " AND e.sender NOT LIKE ? ESCAPE '\\'"

# (table, column) of the rows that exist only for an event: deleted with it.
_BY_EVENT_ID = (
    ("event_relations", "event_id"),
    ("threads", "thread_id"),
    ("threads", "latest_event_id"),
    ("event_push_generic", "event_id"),
    ("event_push_user", "event_id"),
    ("redacted_event_originals", "event_id"),
    ("room_event_txns", "event_id"),
)


# An original whose event row is gone still names its room; its sender is then unknown, so only
# a room hold can cover it (the hold store keeps copies of held originals, with their sender).
_ORIGINAL_NOT_HELD = not_held("o.room_id", "e.sender")


class SqlRetentionStore:
    """The purge's reads and deletes; see the module docstring for what it may delete."""

    async def retention_states(self, q: Queryable) -> list[tuple[str, str]]:
        """(room ID, PDU JSON) of every room's current `m.room.retention` event."""
        rows = await q.fetch_all(
            "SELECT cs.room_id, e.pdu FROM current_state cs"
            " JOIN events e ON e.event_id = cs.event_id"
            " WHERE cs.type = ? AND cs.state_key = ''",
            RETENTION_TYPE,
        )
        return [(row[0], row[1]) for row in rows]

    async def rooms_after(self, q: Queryable, after: str, limit: int) -> list[str]:
        rows = await q.fetch_all(
            "SELECT room_id FROM rooms WHERE room_id > ? ORDER BY room_id LIMIT ?", after, limit
        )
        return [row[0] for row in rows]

    async def count_expired(self, q: Queryable, room_id: str, before_ts: int) -> int:
        value = await q.fetch_val(
            f"SELECT COUNT(*) FROM events e WHERE {_EXPIRED}", room_id, before_ts
        )
        return int(value or 0)

    async def delete_expired(
        self, q: Queryable, room_id: str, before_ts: int, limit: int
    ) -> list[PurgedEvent]:
        """Delete up to `limit` expired events of the room, oldest first, and their rows."""
        return await _delete(q, _EXPIRED, (room_id, before_ts), limit)

    async def delete_history(
        self, q: Queryable, room_id: str, before_position: int, *, local_suffix: str | None,
        limit: int,
    ) -> list[PurgedEvent]:  # fmt: skip
        """Delete up to `limit` of the room's message events below `before_position`, oldest
        first, and their rows; with `local_suffix` (`:server`), only other servers' users'."""
        if local_suffix is None:
            return await _delete(q, _BEFORE_POSITION, (room_id, before_position), limit)
        pattern = f"%{escape_like(local_suffix)}"
        params = (room_id, before_position, pattern)
        return await _delete(q, _BEFORE_POSITION + _REMOTE_ONLY, params, limit)

    async def last_position_before(self, q: Queryable, room_id: str, before_ts: int) -> int | None:
        """The stream position of the room's last event sent before `before_ts`, if any."""
        value = await q.fetch_val(
            "SELECT MAX(stream_ordering) FROM events WHERE room_id = ? AND origin_server_ts < ?",
            room_id, before_ts,
        )  # fmt: skip
        return int(value) if value is not None else None

    async def delete_unreferenced_media(
        self, q: Queryable, server_name: str, media_ids: Sequence[str]
    ) -> list[DeletedMedia]:
        """Delete the media rows (and thumbnails) of `media_ids` that nothing stored names any
        more: no event, kept redacted or held original (found through the media reference
        index), or profile. `LIKE` may over-match a media ID with `_` in it; then the media is
        kept, the safe side."""
        deleted: list[DeletedMedia] = []
        for media_id in media_ids:
            uri = f"mxc://{server_name}/{media_id}"
            pattern = f"%{uri}%"
            named = [media_id, pattern] * 3
            if await q.fetch_val(_MEDIA_REFERENCED, *named, uri) is not None:
                continue
            if (gone := await delete_media_row(q, media_id)) is not None:
                deleted.append(gone)
        return deleted

    async def count_prunable_originals(self, q: Queryable, before_ts: int) -> int:
        value = await q.fetch_val(
            "SELECT COUNT(*) FROM redacted_event_originals o LEFT JOIN events e"
            f" ON e.event_id = o.event_id WHERE o.redacted_ts < ? AND {_ORIGINAL_NOT_HELD}",
            before_ts,
        )
        return int(value or 0)

    async def prune_originals(self, q: Queryable, before_ts: int, limit: int) -> list[str]:
        """Delete up to `limit` redacted originals older than `before_ts` no hold covers; their
        stored JSON (the files they named may go with them)."""
        rows = await q.fetch_all(
            "DELETE FROM redacted_event_originals WHERE event_id IN (SELECT o.event_id"
            " FROM redacted_event_originals o LEFT JOIN events e ON e.event_id = o.event_id"
            f" WHERE o.redacted_ts < ? AND {_ORIGINAL_NOT_HELD} ORDER BY o.redacted_ts LIMIT ?)"
            " RETURNING pdu",
            before_ts, limit,
        )  # fmt: skip
        return [str(row[0]) for row in rows]

    async def compact_search_index(self, q: Queryable) -> None:
        """PostgreSQL: nothing (a GIN index drops deleted rows' entries when vacuumed)."""

    async def cursor(self, q: Queryable, job: str) -> str:
        value = await q.fetch_val("SELECT room_cursor FROM retention_progress WHERE job = ?", job)
        return str(value) if value is not None else ""

    async def set_cursor(self, q: Queryable, job: str, room_id: str, now_ms: int) -> None:
        await q.execute(
            "INSERT INTO retention_progress (job, room_cursor, updated_ts) VALUES (?, ?, ?)"
            " ON CONFLICT (job) DO UPDATE SET room_cursor = excluded.room_cursor,"
            " updated_ts = excluded.updated_ts",
            job, room_id, now_ms,
        )  # fmt: skip


class SqliteRetentionStore(SqlRetentionStore):
    """SQLite: deleted rows' words stay in FTS5's index segments until they are merged."""

    @override
    async def compact_search_index(self, q: Queryable) -> None:
        """Merge the FTS5 segments, so purged messages' words leave the file (costs a rewrite
        of the index: once per purge that deleted anything)."""
        await q.execute("INSERT INTO event_search_fts (event_search_fts) VALUES ('optimize')")


async def _delete(
    q: Queryable, where: str, params: tuple[str | int, ...], limit: int
) -> list[PurgedEvent]:
    """Delete up to `limit` events matching `where` (over `events e`), oldest first, and the
    rows that exist only for them."""
    rows = await q.fetch_all(
        "DELETE FROM events WHERE stream_ordering IN (SELECT e.stream_ordering FROM events e"
        f" WHERE {where} ORDER BY e.stream_ordering LIMIT ?)"
        " RETURNING stream_ordering, event_id, pdu",
        *params, limit,
    )  # fmt: skip
    purged = [PurgedEvent(int(row[0]), row[1], row[2]) for row in rows]
    if not purged:
        return purged
    positions = [(event.stream_ordering,) for event in purged]
    await q.execute_many("DELETE FROM event_search WHERE stream_ordering = ?", positions)
    ids = [(event.event_id,) for event in purged]
    for table, column in _BY_EVENT_ID:
        await q.execute_many(f"DELETE FROM {table} WHERE {column} = ?", ids)
    return purged


def retention_store_for(dialect: str) -> SqlRetentionStore:
    """The retention store for the database's dialect."""
    return SqliteRetentionStore() if dialect == "sqlite" else SqlRetentionStore()
