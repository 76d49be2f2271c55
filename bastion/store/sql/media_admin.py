"""SQL for what admins do to media (services/media/admin.py): quarantine and release, protection
from quarantine, the media a room's events or a user's uploads name, whether a legal hold needs a
file, the files unused since a date, the avatars in use, and deletion.

A room's media is found the way the retention purge finds a purged event's (`LIKE` on the
stored JSON for `mxc://`): its events, and the kept originals of its redacted and held events,
so a file stays findable after the message that carried it was redacted. Encrypted rooms'
files are named inside ciphertext only: they are not found (as in Synapse).
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable
from bastion.store.protocols.compliance import DeletedMedia
from bastion.store.sql.holds import is_held
from bastion.store.sql.media import delete_media_row
from bastion.store.sql.media_references import named_in

_ROOM_CONTENTS = (
    "SELECT pdu FROM events WHERE room_id = ? AND pdu LIKE '%mxc://%'"
    " UNION ALL SELECT pdu FROM redacted_event_originals WHERE room_id = ?"
    " AND pdu LIKE '%mxc://%'"
    " UNION ALL SELECT pdu FROM held_event_originals WHERE room_id = ? AND pdu LIKE '%mxc://%'"
)
# Media ID and URI pattern for each table, then the uploader: through the media reference
# index (store/sql/media_references.py); a redacted original's sender is its event's.
_HELD_REFERENCE = (
    f"SELECT 1 WHERE {named_in('events', 'e', is_held('e.room_id', 'e.sender'))}"
    f" OR {named_in('held_event_originals', 'h')}"
    " OR "
    + named_in(
        "redacted_event_originals",
        "o",
        "EXISTS (SELECT 1 FROM events oe WHERE oe.event_id = o.event_id"
        f" AND {is_held('o.room_id', 'oe.sender')})",
    )
    + f" OR {is_held('NULL', '?')}"
)
_AVATAR_EVENTS = (
    "SELECT cs.stream_ordering, e.pdu FROM current_state cs JOIN events e"
    " ON e.event_id = cs.event_id WHERE cs.type IN ('m.room.avatar', 'm.room.member')"
    " AND cs.stream_ordering > ? AND e.pdu LIKE ? ORDER BY cs.stream_ordering LIMIT ?"
)
_BATCH = 500  # media IDs per UPDATE (bounded statements whatever a room holds)


class SqlMediaAdminStore:
    """Quarantine, lookup and deletion of media rows."""

    async def set_quarantine(
        self, q: Queryable, media_ids: Sequence[str], by: str | None, now_ms: int
    ) -> int:
        """Quarantine uploaded `media_ids` not quarantined yet (`by` the admin), or release
        quarantined ones (`by` None); how many rows changed."""
        changed = 0
        for start in range(0, len(media_ids), _BATCH):
            batch = list(media_ids[start : start + _BATCH])
            marks = ", ".join("?" * len(batch))
            if by is None:
                changed += await q.execute(
                    "UPDATE media SET quarantined_by = NULL, quarantined_ts = NULL"
                    f" WHERE media_id IN ({marks}) AND quarantined_ts IS NOT NULL",
                    *batch,
                )
            else:
                changed += await q.execute(
                    "UPDATE media SET quarantined_by = ?, quarantined_ts = ?"
                    f" WHERE media_id IN ({marks}) AND quarantined_ts IS NULL"
                    " AND uploaded_ts IS NOT NULL AND safe_from_quarantine = 0",
                    by, now_ms, *batch,
                )  # fmt: skip
        return changed

    async def same_files(self, q: Queryable, media_id: str) -> list[str]:
        """`media_id` and every other upload of the same bytes (same SHA-256)."""
        rows = await q.fetch_all(
            "SELECT m.media_id FROM media m JOIN media o ON o.sha256 = m.sha256"
            " WHERE o.media_id = ? AND m.uploaded_ts IS NOT NULL ORDER BY m.media_id",
            media_id,
        )
        return sorted({media_id, *(str(row[0]) for row in rows)})

    async def uploads_of(self, q: Queryable, user_id: str) -> list[str]:
        rows = await q.fetch_all(
            "SELECT media_id FROM media WHERE user_id = ? AND uploaded_ts IS NOT NULL"
            " ORDER BY media_id",
            user_id,
        )
        return [str(row[0]) for row in rows]

    async def room_contents(self, q: Queryable, room_id: str) -> list[str]:
        """The stored JSON of the room's events (and kept originals) that name `mxc://`."""
        rows = await q.fetch_all(_ROOM_CONTENTS, room_id, room_id, room_id)
        return [str(row[0]) for row in rows]

    async def held_reference(self, q: Queryable, uri: str, uploader: str) -> bool:
        """Does an active legal hold need this file: an event or kept original it covers names
        `uri`, or it names the uploader? `LIKE` may over-match (then: held, the safe side)."""
        pattern, media_id = f"%{uri}%", uri.rsplit("/", 1)[-1]
        found = await q.fetch_val(_HELD_REFERENCE, *[media_id, pattern] * 3, uploader)
        return found is not None

    async def delete_media(self, q: Queryable, media_id: str) -> DeletedMedia | None:
        """Delete the media row and its thumbnails' rows; what was deleted (None: nothing)."""
        return await delete_media_row(q, media_id)

    async def set_protected(self, q: Queryable, media_id: str, protected: bool) -> int:
        """Protect an uploaded file from quarantine (or stop); 1 if it changed, else 0."""
        return await q.execute(
            "UPDATE media SET safe_from_quarantine = ? WHERE media_id = ?"
            " AND uploaded_ts IS NOT NULL AND safe_from_quarantine <> ?",
            int(protected), media_id, int(protected),
        )  # fmt: skip

    async def unused_uploads(self, q: Queryable, before_ts: int, size_gt: int) -> list[str]:
        """Uploads last served (or, never served, uploaded) before `before_ts` and larger than
        `size_gt` bytes, neither quarantined nor protected (Synapse's deletion by date)."""
        rows = await q.fetch_all(
            "SELECT media_id FROM media WHERE uploaded_ts IS NOT NULL"
            " AND COALESCE(last_access_ts, uploaded_ts) < ? AND COALESCE(size, 0) > ?"
            " AND quarantined_ts IS NULL AND safe_from_quarantine = 0 ORDER BY media_id",
            before_ts, size_gt,
        )  # fmt: skip
        return [str(row[0]) for row in rows]

    async def profile_avatars(self, q: Queryable, prefix: str) -> list[str]:
        """The profiles' avatar URIs that start with `prefix` (this server's `mxc://`)."""
        rows = await q.fetch_all(
            "SELECT DISTINCT avatar_url FROM profiles WHERE avatar_url LIKE ?", prefix + "%"
        )
        return [str(row[0]) for row in rows]

    async def avatar_state(
        self, q: Queryable, prefix: str, after: int, limit: int
    ) -> list[tuple[int, str]]:
        """A page of the rooms' current `m.room.avatar` and `m.room.member` events whose JSON
        names `prefix`, by position after `after`: (position, stored JSON)."""
        rows = await q.fetch_all(_AVATAR_EVENTS, after, f"%{prefix}%", limit)
        return [(int(row[0]), str(row[1])) for row in rows]
