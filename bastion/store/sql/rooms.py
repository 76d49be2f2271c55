"""SQL for rooms (`rooms`) and their aliases (`room_aliases`)."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable, Row
from bastion.store.protocols.rooms import OpenedRoom, StateKey
from bastion.store.records import NewEvent, RoomRecord, SendTxn
from bastion.store.sql.events import EVENT_COLUMNS, SqlEventStore, event_from_row, event_values

_ROOM_COLUMNS = "room_id, room_version, creator, is_public, last_event_id, depth"
_EVENT_ARRAYS = ", ".join(
    f"CAST(? AS {kind}[])" for kind in ("BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT",
    "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT")
)  # fmt: skip
# On PostgreSQL: a group's events, their txn IDs and the room's advance, in one statement.
_APPEND_MESSAGES = (
    "WITH e AS (INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender,"
    " origin_server_ts, depth, state_value, replaces_state, prev_content, prev_sender,"
    f" sender_device, txn_id, pdu) SELECT * FROM unnest({_EVENT_ARRAYS})),"
    " t AS (INSERT INTO room_event_txns (user_id, device_id, endpoint, txn_id, event_id,"
    " created_ts) SELECT u, d, x, n, i, CAST(? AS BIGINT) FROM unnest(CAST(? AS TEXT[]),"
    " CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]))"
    " AS v(u, d, x, n, i)) UPDATE rooms SET last_event_id = ?, depth = ?"
    " WHERE room_id = ? AND last_event_id = ?"
)


class SqlRoomStore:
    """Rooms, the position of their newest event, and aliases.

    With `row_locks` (PostgreSQL), `lock_room` takes the room's row lock (`FOR UPDATE`) until the
    transaction ends, so writers to one room in different processes queue there, and what they
    read after it (the room's end, its current state) is what the last of them committed. SQLite
    needs none: one writer at a time holds the whole database.
    """

    def __init__(self, *, row_locks: bool = False) -> None:
        self._lock_clause = " FOR UPDATE" if row_locks else ""

    async def insert_room(self, q: Queryable, room: RoomRecord, *, now_ms: int) -> bool:
        """Insert the room unless its ID is taken (False). A concurrent writer of the same ID
        makes PostgreSQL wait for its commit, then report the ID taken: never an error."""
        inserted = await q.execute(
            "INSERT INTO rooms (room_id, room_version, creator, is_public, created_ts,"
            " last_event_id, depth) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id) DO NOTHING",
            room.room_id,
            room.room_version,
            room.creator,
            int(room.is_public),
            now_ms,
            room.last_event_id,
            room.depth,
        )
        return inserted == 1

    async def get_room(self, q: Queryable, room_id: str) -> RoomRecord | None:
        row = await q.fetch_one(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_id = ?", room_id)
        return None if row is None else _room(row)

    async def room_versions(self, q: Queryable, room_ids: Sequence[str]) -> dict[str, str]:
        """room_id -> room version of those that exist: one query per 500 rooms."""
        unique = list(dict.fromkeys(room_ids))
        found: dict[str, str] = {}
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = await q.fetch_all(
                "SELECT room_id, room_version FROM rooms"
                f" WHERE room_id IN ({', '.join('?' * len(chunk))})",
                *chunk,
            )
            found |= {row[0]: row[1] for row in rows}
        return found

    async def lock_room(self, q: Queryable, room_id: str) -> tuple[RoomRecord, int] | None:
        """The room and the stream position of its newest event, its row locked (see above).

        The position comes in the same statement; when the lock was waited for, PostgreSQL
        re-reads the row but not the subquery's snapshot, which then misses the newest event
        (NULL): a second statement, run after the lock, reads it.
        """
        row = await q.fetch_one(
            f"SELECT {_ROOM_COLUMNS}, (SELECT stream_ordering FROM events"
            f" WHERE event_id = rooms.last_event_id) FROM rooms WHERE room_id = ?"
            f"{self._lock_clause}",
            room_id,
        )
        if row is None:
            return None
        position = row[6]
        if position is None:
            position = await q.fetch_val(
                "SELECT stream_ordering FROM events WHERE event_id = ?", row[4]
            )
        return _room(row), int(position or 0)

    async def open_room(
        self, q: Queryable, room_id: str, keys: Sequence[StateKey], txns: Sequence[SendTxn]
    ) -> OpenedRoom | None:
        """`lock_room`, the current state of `keys` and the events stored for `txns`: one
        statement (None: no such room).

        Its state and txn reads see the statement's snapshot, taken before the row lock was
        waited for; the locked row itself is re-read at its newest (READ COMMITTED). A snapshot
        older than the lock would miss what the last holder wrote, and the compare-and-set of
        the room's end would not catch it: the end read here IS that holder's. So staleness is
        detected instead: the last holder moved the end to an event it inserted in the same
        transaction, and a snapshot that cannot see that event (its position NULL) is older
        than the lock. The statement is then run again, the lock held: its new snapshot sees
        every holder before us. A snapshot that sees the end event sees its whole transaction,
        and those of every earlier holder (committed before it took the lock).
        """
        state = " OR ".join(["(cs.type = ? AND cs.state_key = ?)"] * len(keys)) or "1 = 0"
        parts = [
            "SELECT NULL AS t_user, NULL AS t_device, NULL AS t_endpoint, NULL AS t_txn,"
            f" {EVENT_COLUMNS} FROM current_state cs JOIN events e ON e.event_id = cs.event_id"
            f" WHERE cs.room_id = ? AND ({state})"
        ]
        args: list[object] = [room_id, room_id, *(part for key in keys for part in key)]
        if txns:
            match = " OR ".join(
                ["(t.user_id = ? AND t.device_id = ? AND t.endpoint = ? AND t.txn_id = ?)"]
                * len(txns)
            )
            parts.append(
                "SELECT t.user_id, t.device_id, t.endpoint, t.txn_id,"
                f" {EVENT_COLUMNS} FROM room_event_txns t JOIN events e ON e.event_id = t.event_id"
                f" WHERE {match}"
            )
            args += [v for t in txns for v in (t.user_id, t.device_id, t.endpoint, t.txn_id)]
        sql = (
            f"WITH r AS (SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_id = ?{self._lock_clause})"
            " SELECT r.room_id AS r_room, r.room_version AS r_version, r.creator AS r_creator,"
            " r.is_public AS r_public, r.last_event_id AS r_last, r.depth AS r_depth,"
            " (SELECT stream_ordering FROM events WHERE event_id = r.last_event_id) AS r_position,"
            f" x.* FROM r LEFT JOIN ({' UNION ALL '.join(parts)}) x ON 1 = 1"
        )
        rows = await q.fetch_all(sql, *args)
        if not rows:
            return None
        if rows[0]["r_position"] is None and rows[0]["r_last"]:
            rows = await q.fetch_all(sql, *args)  # the snapshot predates the lock: see above
        first = rows[0]
        room = RoomRecord(
            room_id=first["r_room"], room_version=first["r_version"],
            creator=first["r_creator"], is_public=bool(first["r_public"]),
            last_event_id=first["r_last"], depth=first["r_depth"],
        )  # fmt: skip
        current: dict[StateKey, StoredEvent] = {}
        stored: dict[SendTxn, StoredEvent] = {}
        for row in rows:
            if row["event_id"] is None:
                continue  # the room alone: nothing matched
            event = event_from_row(row)
            if row["t_user"] is None:
                current[(event.type, event.state_key or "")] = event
            else:
                txn = SendTxn(row["t_user"], row["t_device"], row["t_endpoint"], row["t_txn"])
                stored[txn] = event
        return OpenedRoom(room, int(first["r_position"] or 0), current, stored)

    async def advance(
        self, q: Queryable, room_id: str, *, expected_last: str, new_last: str, depth: int
    ) -> bool:
        """Move the room's end to `new_last` if nobody else moved it first (compare-and-set)."""
        changed = await q.execute(
            "UPDATE rooms SET last_event_id = ?, depth = ? WHERE room_id = ? AND last_event_id = ?",
            new_last,
            depth,
            room_id,
            expected_last,
        )
        return changed == 1

    async def advance_with_txns(
        self, q: Queryable, room_id: str, *, expected_last: str, new_last: str, depth: int,
        txns: Sequence[tuple[SendTxn, str]], now_ms: int,
    ) -> bool:  # fmt: skip
        """`advance`, after storing the sends' txn IDs (`room_event_txns`, see sql/events.py):
        one statement on PostgreSQL. False (compare-and-set lost): the caller rolls back."""
        if not self._lock_clause or not txns:
            await SqlEventStore().insert_txns(q, txns, now_ms)
            return await self.advance(
                q, room_id, expected_last=expected_last, new_last=new_last, depth=depth
            )
        changed = await q.execute(
            "WITH t AS (INSERT INTO room_event_txns (user_id, device_id, endpoint, txn_id,"
            " event_id, created_ts) SELECT u, d, e, x, i, CAST(? AS BIGINT) FROM"
            " unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]),"
            " CAST(? AS TEXT[])) AS v(u, d, e, x, i)) UPDATE rooms SET last_event_id = ?,"
            " depth = ? WHERE room_id = ? AND last_event_id = ?",
            now_ms,
            [t.user_id for t, _ in txns], [t.device_id for t, _ in txns],
            [t.endpoint for t, _ in txns], [t.txn_id for t, _ in txns], [e for _, e in txns],
            new_last, depth, room_id, expected_last,
        )  # fmt: skip
        return changed == 1

    async def append_messages(
        self, q: Queryable, room_id: str, *, expected_last: str, events: Sequence[NewEvent],
        txns: Sequence[tuple[SendTxn, str]], now_ms: int,
    ) -> bool:  # fmt: skip
        """Insert `events` (in order, each on the previous), store the sends' txn IDs and move
        the room's end to the last event (compare-and-set, as `advance`): one statement on
        PostgreSQL. False (compare-and-set lost): the caller rolls back."""
        last = events[-1].event
        if not self._lock_clause:
            await SqlEventStore().insert_events(q, events)
            return await self.advance_with_txns(
                q, room_id, expected_last=expected_last, new_last=last.event_id,
                depth=last.depth, txns=txns, now_ms=now_ms,
            )  # fmt: skip
        rows = [event_values(new) for new in events]
        columns = [list(column) for column in zip(*rows, strict=True)]
        changed = await q.execute(
            _APPEND_MESSAGES, *columns, now_ms,
            [t.user_id for t, _ in txns], [t.device_id for t, _ in txns],
            [t.endpoint for t, _ in txns], [t.txn_id for t, _ in txns], [e for _, e in txns],
            last.event_id, last.depth, room_id, expected_last,
        )  # fmt: skip
        return changed == 1

    async def set_public(self, q: Queryable, room_id: str, *, is_public: bool) -> None:
        await q.execute("UPDATE rooms SET is_public = ? WHERE room_id = ?", int(is_public), room_id)

    async def insert_alias(
        self, q: Queryable, alias: str, room_id: str, creator: str, now_ms: int
    ) -> bool:
        """Insert the alias unless it is taken (False)."""
        inserted = await q.execute(
            "INSERT INTO room_aliases (alias, room_id, creator, created_ts) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (alias) DO NOTHING",
            alias,
            room_id,
            creator,
            now_ms,
        )
        return inserted == 1

    async def get_alias(self, q: Queryable, alias: str) -> tuple[str, str] | None:
        """(room_id, creator) of an alias."""
        row = await q.fetch_one("SELECT room_id, creator FROM room_aliases WHERE alias = ?", alias)
        return None if row is None else (row[0], row[1])

    async def delete_alias(self, q: Queryable, alias: str) -> None:
        await q.execute("DELETE FROM room_aliases WHERE alias = ?", alias)

    async def aliases_of_room(self, q: Queryable, room_id: str) -> list[str]:
        rows = await q.fetch_all(
            "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias", room_id
        )
        return [row[0] for row in rows]


def _room(row: Row) -> RoomRecord:
    return RoomRecord(
        room_id=row[0],
        room_version=row[1],
        creator=row[2],
        is_public=bool(row[3]),
        last_event_id=row[4],
        depth=row[5],
    )
