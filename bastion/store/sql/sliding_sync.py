"""SQL for sliding-sync connections (`sliding_sync_connections`, `sliding_sync_positions`,
`sliding_sync_rooms`) and the room facts the lists read for many rooms in one query each.

Invariant: the memory as of seq N is, per room, the row with the greatest seq <= N; so rows
above N never leak into a retry of N, and `acknowledge(N)` may drop what N supersedes.

Order snapshots (services/sliding_sync/order_chain.py) are rows of `sliding_sync_positions` at
seq -B (B: the position whose response took it); a `pos` never names a negative seq. Position N's
snapshot is the one of the greatest B <= N: `acknowledge(N)` keeps that one only (the snapshots
above N belong to responses the client never processed, those below it to dropped positions).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from bastion.store.database import Queryable
from bastion.store.protocols.sliding_sync import (
    ConnectionRow,
    NewPosition,
    PositionRow,
    StateEntry,
)
from bastion.store.sql.events import placeholders

_CONNECTION = "c.conn_key, c.user_id, c.device_id, c.conn_id, c.created_ts, c.last_used_ts"
_CONNECTION_ROWS = "SELECT conn_key FROM sliding_sync_connections"
# The snapshot seq of position `seq` (parameters: conn_key, -seq); 0 when there is none.
_SNAPSHOT_OF = (
    "(SELECT COALESCE(MIN(s.seq), 0) FROM sliding_sync_positions s"
    " WHERE s.conn_key = ? AND s.seq < 0 AND s.seq >= ?)"
)


class SqlSlidingSyncStore:
    """One row per connection, one per issued position, one per room memory change."""

    async def replace_connection(self, q: Queryable, row: ConnectionRow) -> None:
        """Start `row`, dropping the device's connection of the same conn_id (if any)."""
        where = " WHERE user_id = ? AND device_id = ? AND conn_id = ?"
        args = (row.user_id, row.device_id, row.conn_id)
        await self._delete_connections(q, where, *args)
        await q.execute(
            "INSERT INTO sliding_sync_connections (conn_key, user_id, device_id, conn_id,"
            " created_ts, last_used_ts) VALUES (?, ?, ?, ?, ?, ?)",
            row.conn_key, row.user_id, row.device_id, row.conn_id, row.created_ts,
            row.last_used_ts,
        )  # fmt: skip

    async def find_position(self, q: Queryable, conn_key: str, seq: int) -> PositionRow | None:
        row = await q.fetch_one(
            f"SELECT {_CONNECTION}, p.seq, p.scope, (SELECT COUNT(*) FROM"
            " sliding_sync_positions o WHERE o.conn_key = p.conn_key AND o.seq > 0) AS positions,"
            " (SELECT MAX(seq) FROM sliding_sync_positions o WHERE o.conn_key = p.conn_key),"
            " s.seq, s.scope, p.version FROM sliding_sync_positions p"
            " JOIN sliding_sync_connections c"
            " ON c.conn_key = p.conn_key LEFT JOIN sliding_sync_positions s"
            f" ON s.conn_key = p.conn_key AND s.seq = {_SNAPSHOT_OF}"
            " WHERE p.conn_key = ? AND p.seq = ? AND p.seq > 0",
            conn_key, -seq, conn_key, seq,
        )  # fmt: skip
        if row is None:
            return None
        connection = ConnectionRow(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]))
        snapshot = None if row[10] is None else (-int(row[10]), str(row[11]))
        return PositionRow(
            connection, int(row[6]), row[7], int(row[8]), int(row[9]), snapshot, int(row[12])
        )

    async def room_memories(
        self, q: Queryable, conn_key: str, seq: int, room_ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        """room_id -> memory JSON as of `seq` (the newest row at or below it), of `room_ids`
        only (None: every room)."""
        sql = "SELECT room_id, seq, memory FROM sliding_sync_rooms WHERE conn_key = ? AND seq <= ?"
        if room_ids is None:
            rows = await q.fetch_all(f"{sql} ORDER BY seq", conn_key, seq)
        elif not room_ids:
            return {}
        else:
            rows = await q.fetch_all(
                f"{sql} AND room_id IN ({placeholders(len(room_ids))}) ORDER BY seq",
                conn_key,
                seq,
                *room_ids,
            )
        return {row[0]: row[2] for row in rows}  # later (greater seq) rows win

    async def acknowledge(
        self, q: Queryable, conn_key: str, seq: int, *, newest: bool = False
    ) -> None:
        """The client holds `seq`: drop what came after it (never processed) and what it
        supersedes (memory rows with a newer row at or below it, older positions).
        `newest`: nothing was stored after `seq`, and `seq` was stored by a request that
        acknowledged the one before (so of the memory rows, only those that rows of `seq`
        supersede remain to drop)."""
        if newest:
            await self._drop_positions(q, conn_key, seq)
            await q.execute(
                "DELETE FROM sliding_sync_rooms WHERE conn_key = ? AND seq < ? AND room_id IN ("
                "SELECT room_id FROM sliding_sync_rooms WHERE conn_key = ? AND seq = ?)",
                conn_key, seq, conn_key, seq,
            )  # fmt: skip
            return
        await q.execute(
            "DELETE FROM sliding_sync_rooms WHERE conn_key = ? AND seq > ?", conn_key, seq
        )
        await self._drop_positions(q, conn_key, seq)
        await q.execute(
            "DELETE FROM sliding_sync_rooms WHERE conn_key = ? AND seq < ? AND EXISTS ("
            "SELECT 1 FROM sliding_sync_rooms n WHERE n.conn_key = sliding_sync_rooms.conn_key"
            " AND n.room_id = sliding_sync_rooms.room_id AND n.seq > sliding_sync_rooms.seq"
            " AND n.seq <= ?)",
            conn_key,
            seq,
            seq,
        )

    @staticmethod
    async def _drop_positions(q: Queryable, conn_key: str, seq: int) -> None:
        """Every position but `seq`, and every order snapshot but `seq`'s."""
        await q.execute(
            "DELETE FROM sliding_sync_positions WHERE conn_key = ? AND seq <> ?"
            f" AND seq <> {_SNAPSHOT_OF}",
            conn_key, seq, conn_key, -seq,
        )  # fmt: skip

    async def insert_position(self, q: Queryable, position: NewPosition) -> None:
        p = position
        rows = [(p.conn_key, p.seq, p.scope, p.now_ms, p.version)]
        if p.order_snapshot is not None:
            rows.append((p.conn_key, -p.seq, p.order_snapshot, p.now_ms, 0))
        await q.execute_many(
            "INSERT INTO sliding_sync_positions (conn_key, seq, scope, created_ts, version)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        if position.rooms:
            await q.execute_many(
                "INSERT INTO sliding_sync_rooms (conn_key, room_id, seq, memory)"
                " VALUES (?, ?, ?, ?)",
                [(position.conn_key, room_id, position.seq, memory) for room_id, memory in
                 position.rooms],
            )  # fmt: skip

    async def advance_position(
        self, q: Queryable, seq: int, version: int, position: NewPosition, *, replace: bool
    ) -> bool:
        """Store `position` (no order snapshot, no room rows) in one statement, provided
        position `seq` is still the row of `version`: `replace`: by turning the connection's
        one position older than `seq` (which `seq` acknowledges) into it; otherwise as a new
        row. False (nothing written) when the guard fails."""
        p = position
        guard = (
            "EXISTS (SELECT 1 FROM sliding_sync_positions g WHERE g.conn_key = ? AND g.seq = ?"
            " AND g.version = ?)"
        )
        if replace:
            done = await q.execute(
                "UPDATE sliding_sync_positions SET seq = ?, scope = ?, created_ts = ?, version = ?"
                f" WHERE conn_key = ? AND seq > 0 AND seq < ? AND {guard}",
                p.seq, p.scope, p.now_ms, p.version, p.conn_key, seq, p.conn_key, seq, version,
            )  # fmt: skip
        else:
            done = await q.execute(
                "INSERT INTO sliding_sync_positions (conn_key, seq, scope, created_ts, version)"
                " SELECT ?, CAST(? AS BIGINT), ?, CAST(? AS BIGINT), CAST(? AS BIGINT)"
                f" WHERE {guard}",
                p.conn_key, p.seq, p.scope, p.now_ms, p.version, p.conn_key, seq, version,
            )  # fmt: skip
        return done == 1

    async def position_version(self, q: Queryable, conn_key: str, seq: int) -> int | None:
        """The version of position `seq`; None when it is not stored."""
        value = await q.fetch_val(
            "SELECT version FROM sliding_sync_positions WHERE conn_key = ? AND seq = ?",
            conn_key,
            seq,
        )
        return None if value is None else int(value)

    async def touch(self, q: Queryable, conn_key: str, now_ms: int) -> None:
        await q.execute(
            "UPDATE sliding_sync_connections SET last_used_ts = ? WHERE conn_key = ?",
            now_ms,
            conn_key,
        )

    async def delete_unused(self, q: Queryable, *, unused_since_ms: int) -> int:
        """Drop the connections not used since `unused_since_ms`; how many."""
        return await self._delete_connections(q, " WHERE last_used_ts < ?", unused_since_ms)

    async def delete_oldest_of_device(
        self, q: Queryable, user_id: str, device_id: str, *, keep: int
    ) -> int:
        """Drop the device's connections past the `keep` most recently used; how many."""
        rows = await q.fetch_all(
            "SELECT conn_key FROM sliding_sync_connections WHERE user_id = ? AND device_id = ?"
            " ORDER BY last_used_ts DESC, created_ts DESC",
            user_id,
            device_id,
        )
        dropped = [row[0] for row in rows[keep:]]
        if not dropped:
            return 0
        where = f" WHERE conn_key IN ({placeholders(len(dropped))})"
        return await self._delete_connections(q, where, *dropped)

    async def removed_by_others(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> set[str]:
        """The rooms of `room_ids` whose current member event of the user (a leave or a ban)
        someone else sent, and in which the user was once joined: kicks and bans."""
        if not room_ids:
            return set()
        rows = await q.fetch_all(
            "SELECT m.room_id FROM memberships m JOIN events e ON e.event_id = m.event_id"
            " WHERE m.user_id = ? AND m.membership IN ('leave', 'ban') AND e.sender <> ?"
            f" AND m.room_id IN ({placeholders(len(room_ids))}) AND EXISTS (SELECT 1 FROM events j"
            " WHERE j.room_id = m.room_id AND j.type = 'm.room.member' AND j.state_key = ?"
            " AND j.state_value = 'join')",
            user_id, user_id, *room_ids, user_id,
        )  # fmt: skip
        return {row[0] for row in rows}

    async def room_tags(self, q: Queryable, user_id: str) -> dict[str, set[str]]:
        """room_id -> tag names of the user's `m.tag` room account data (junk skipped)."""
        rows = await q.fetch_all(
            "SELECT room_id, content FROM account_data WHERE user_id = ? AND type = 'm.tag'"
            " AND room_id <> ''",
            user_id,
        )
        found: dict[str, set[str]] = {}
        for room_id, content in ((row[0], msgspec.json.decode(row[1])) for row in rows):
            tags = content.get("tags") if isinstance(content, dict) else None
            if isinstance(tags, dict):
                found[room_id] = set(tags)
        return found

    async def state_entries(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str]
    ) -> list[StateEntry]:
        """The current state events of `types` in `room_ids` (for filters, never for clients)."""
        if not room_ids or not types:
            return []
        rows = await q.fetch_all(
            "SELECT cs.room_id, cs.type, cs.state_key, e.pdu FROM current_state cs"
            " JOIN events e ON e.event_id = cs.event_id"
            f" WHERE cs.room_id IN ({placeholders(len(room_ids))})"
            f" AND cs.type IN ({placeholders(len(types))})",
            *room_ids,
            *types,
        )
        return [StateEntry(row[0], row[1], row[2], row[3]) for row in rows]

    @staticmethod
    async def _delete_connections(q: Queryable, where: str, *args: object) -> int:
        keys = f"{_CONNECTION_ROWS}{where}"
        await q.execute(f"DELETE FROM sliding_sync_rooms WHERE conn_key IN ({keys})", *args)
        await q.execute(f"DELETE FROM sliding_sync_positions WHERE conn_key IN ({keys})", *args)
        return await q.execute(f"DELETE FROM sliding_sync_connections{where}", *args)
