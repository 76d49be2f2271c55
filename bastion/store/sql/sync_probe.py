"""SyncProbeStore in one statement: three `UNION ALL` parts of (kind, name, value) rows.

* ('room', room_id, join position): joined rooms with events in the window, found from the new
  events (index on position), so the cost follows what happened, not the viewer's room count;
* ('otk', algorithm, count) and ('fallback', algorithm, 0): the device's keys (sql/keys.py);
* ('news', '', bits): one `EXISTS` per stream, each on an index that starts with the position
  (or with the viewer, then the position), a bit per stream (`_BITS`, in SyncNews's order).
"""

from __future__ import annotations

from bastion.store.database import Queryable
from bastion.store.protocols.sync_probe import SyncNews, SyncProbe
from bastion.store.sql.keys import KEY_COUNTS_SQL, key_counts_of

# CROSS JOIN: SQLite keeps the written order, so it walks the window's events (primary key) and
# looks each room up in the viewer's memberships instead of seeking every room of the viewer
# (PostgreSQL's planner treats it as the inner join it is and picks the same plan).
_ROOMS_SQL = (
    "SELECT DISTINCT 'room', e.room_id, m.stream_ordering FROM events e CROSS JOIN memberships m"
    " WHERE m.room_id = e.room_id AND m.user_id = ? AND m.membership = 'join'"
    " AND e.stream_ordering > ? AND e.stream_ordering <= ?"
)
_EXISTS = (  # in SyncNews's field order; parameters noted per line
    "EXISTS (SELECT 1 FROM account_data"  # user, after, upto
    " WHERE user_id = ? AND stream_id > ? AND stream_id <= ?)",
    "EXISTS (SELECT 1 FROM memberships"  # user, after, upto
    " WHERE user_id = ? AND stream_ordering > ? AND stream_ordering <= ?)",
    "EXISTS (SELECT 1 FROM receipts WHERE stream_id > ? AND stream_id <= ?)",  # after, upto
    "EXISTS (SELECT 1 FROM to_device_messages"  # user, device, upto
    " WHERE user_id = ? AND device_id = ? AND stream_id <= ?)",
    "(EXISTS (SELECT 1 FROM device_list_changes WHERE stream_id > ? AND stream_id <= ?)"
    " OR EXISTS (SELECT 1 FROM memberships WHERE stream_ordering > ? AND stream_ordering <= ?))",
    "EXISTS (SELECT 1 FROM presence WHERE stream_id > ? AND stream_id <= ?)",  # after, upto
)
_BITS = len(_EXISTS)
_NEWS_SQL = "SELECT 'news', '', " + " + ".join(
    f"(CASE WHEN {test} THEN {1 << bit} ELSE 0 END)" for bit, test in enumerate(_EXISTS)
)
_PROBE_SQL = f"{_ROOMS_SQL} UNION ALL {KEY_COUNTS_SQL} UNION ALL {_NEWS_SQL}"


class SqlSyncProbeStore:
    async def probe(
        self, q: Queryable, user_id: str, device_id: str, *, after: int, upto: int
    ) -> SyncProbe:
        window = (after, upto)
        rows = await q.fetch_all(
            _PROBE_SQL,
            user_id, *window,
            user_id, device_id, user_id, device_id,
            user_id, *window,
            user_id, *window,
            *window,
            user_id, device_id, upto,
            *window, *window,
            *window,
        )  # fmt: skip
        bits = next(int(r[2]) for r in rows if r[0] == "news")
        counts, fallback = key_counts_of(rows)
        return SyncProbe(
            SyncNews(*(bool(bits & (1 << bit)) for bit in range(_BITS))),
            {r[1]: int(r[2]) for r in rows if r[0] == "room"},
            counts,
            fallback,
        )
