"""SyncProbeStore in one statement: `UNION ALL` parts of (kind, name, value, thread, value2) rows.

* ('room', room_id, join position): joined rooms with events in the window (`active`, a CTE),
  found from the new events (index on position), so the cost follows what happened, not the
  viewer's room count; with `bump_types` (sliding sync) also ('place', room_id, newest event,
  '', newest event of those types or 0), from the same walk over the window;
* ('unread', room_id, notifications, thread, highlights): the viewer's unread-count rows of the
  active rooms, the same two parts as `SqlPushActionStore.unread_counts` (sql/push.py) with the
  room list read from `active`: keep the two in step;
* ('otk', algorithm, count) and ('fallback', algorithm, 0): the device's keys (sql/keys.py);
* ('news', '', bits): one `EXISTS` per stream, each on an index that starts with the position
  (or with the viewer, then the position), a bit per stream (`_BITS`, in SyncNews's order).

With `rooms=False` only the last two parts (no room is wanted: the cost no longer follows the
window's events).
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable
from bastion.store.protocols.push import UnreadCount
from bastion.store.protocols.sync_probe import SyncNews, SyncProbe
from bastion.store.sql.keys import KEY_COUNTS_SQL, key_counts_of

# CROSS JOIN: SQLite keeps the written order, so it walks the window's events (primary key) and
# looks each room up in the viewer's memberships instead of seeking every room of the viewer
# (PostgreSQL's planner treats it as the inner join it is and picks the same plan).
_WINDOW_JOINED = (  # user, after, upto: the window's events in rooms the viewer is joined to
    " FROM events e CROSS JOIN memberships m"
    " WHERE m.room_id = e.room_id AND m.user_id = ? AND m.membership = 'join'"
    " AND e.stream_ordering > ? AND e.stream_ordering <= ?"
)
_ACTIVE_SQL = (  # user, after, upto
    f"WITH active AS (SELECT DISTINCT e.room_id, m.stream_ordering AS joined_at{_WINDOW_JOINED})"
)
_ROOMS_SQL = "SELECT 'room', room_id, joined_at, '', 0 FROM active"
# Sliding sync's variant (`bump_types`): per active room also its newest event and its newest
# event of a bump type in the window (0: none), as ('place', room_id, newest, '', bumped) rows.
_ACTIVE_PLACES_SQL = (  # bump types..., user, after, upto
    "WITH active AS (SELECT e.room_id, m.stream_ordering AS joined_at,"
    " MAX(e.stream_ordering) AS newest,"
    " MAX(CASE WHEN e.type IN ({types}) THEN e.stream_ordering ELSE 0 END) AS bumped"
    f"{_WINDOW_JOINED} GROUP BY e.room_id, m.stream_ordering)"
)
_PLACES_SQL = "SELECT 'place', room_id, newest, '', bumped FROM active"
_UNREAD_SQL = (  # user, user (sql/push.py's unread_counts, rooms from `active`)
    "SELECT 'unread', c.room_id, c.notify_seq - COALESCE(r.notify_seq, 0), c.thread_id,"
    " c.highlight_seq - COALESCE(r.highlight_seq, 0) FROM push_thread_counters c"
    " LEFT JOIN push_read_marks r ON r.user_id = ? AND r.room_id = c.room_id"
    " AND r.thread_id = c.thread_id WHERE c.room_id IN (SELECT room_id FROM active)"
    " UNION ALL"
    " SELECT 'unread', d.room_id, SUM(d.notify - d.generic_notify), d.thread_id,"
    " SUM(d.highlight - d.generic_highlight) FROM event_push_user d"
    " LEFT JOIN push_read_marks r ON r.user_id = d.user_id AND r.room_id = d.room_id"
    " AND r.thread_id = d.thread_id"
    " WHERE d.user_id = ? AND d.room_id IN (SELECT room_id FROM active)"
    " AND d.stream_ordering > COALESCE(r.stream_ordering, 0)"
    " GROUP BY d.room_id, d.thread_id"
)
_KEYS_SQL = f"SELECT k.*, '', 0 FROM ({KEY_COUNTS_SQL}) k"  # user, device, user, device
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
_NEWS_SQL = (
    "SELECT 'news', '', "
    + " + ".join(
        f"(CASE WHEN {test} THEN {1 << bit} ELSE 0 END)" for bit, test in enumerate(_EXISTS)
    )
    + ", '', 0"
)
_REST_SQL = f"UNION ALL {_UNREAD_SQL} UNION ALL {_KEYS_SQL} UNION ALL {_NEWS_SQL}"
_PROBE_SQL = f"{_ACTIVE_SQL} {_ROOMS_SQL} {_REST_SQL}"
_ROOMLESS_SQL = f"{_KEYS_SQL} UNION ALL {_NEWS_SQL}"  # `rooms=False`: no walk over the window
_PLACES_PROBE_SQL: dict[int, str] = {}  # by the number of bump types


def _places_probe_sql(types: int) -> str:
    sql = _PLACES_PROBE_SQL.get(types)
    if sql is None:
        active = _ACTIVE_PLACES_SQL.format(types=", ".join("?" * types))
        sql = _PLACES_PROBE_SQL[types] = (
            f"{active} {_ROOMS_SQL} UNION ALL {_PLACES_SQL} {_REST_SQL}"
        )
    return sql


class SqlSyncProbeStore:
    async def probe(
        self,
        q: Queryable,
        user_id: str,
        device_id: str,
        *,
        after: int,
        upto: int,
        bump_types: Sequence[str] = (),
        rooms: bool = True,
    ) -> SyncProbe:
        window = (after, upto)
        rest = (
            user_id, device_id, user_id, device_id,
            user_id, *window,
            user_id, *window,
            *window,
            user_id, device_id, upto,
            *window, *window,
            *window,
        )  # fmt: skip
        if not rooms:
            rows = await q.fetch_all(_ROOMLESS_SQL, *rest)
        else:
            rows = await q.fetch_all(
                _places_probe_sql(len(bump_types)) if bump_types else _PROBE_SQL,
                *bump_types, user_id, *window,
                user_id, user_id,
                *rest,
            )  # fmt: skip
        bits = next(int(r[2]) for r in rows if r[0] == "news")
        counts, fallback = key_counts_of(rows)
        return SyncProbe(
            SyncNews(*(bool(bits & (1 << bit)) for bit in range(_BITS))),
            {r[1]: int(r[2]) for r in rows if r[0] == "room"},
            counts,
            fallback,
            [
                UnreadCount(str(r[1]), str(r[3]), int(r[2]), int(r[4]))
                for r in rows
                if r[0] == "unread"
            ],
            {r[1]: (int(r[2]), int(r[4])) for r in rows if r[0] == "place"},
        )
