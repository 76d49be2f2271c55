"""SQL for room events (`events`, `event_txns`).

Events are immutable once stored, except when a redaction takes effect: `redacted_by` is set and
the PDU is replaced by its redacted form, the original moving to `redacted_event_originals`.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable, Row
from bastion.store.records import NewEvent, PrunedEvent, SendTxn

EVENT_COLUMNS = (
    "e.stream_ordering, e.event_id, e.room_id, e.type, e.state_key, e.sender,"
    " e.origin_server_ts, e.depth, e.prev_content, e.prev_sender, e.replaces_state,"
    " e.sender_device, e.txn_id, e.redacted_by, e.pdu"
)
_decoder = msgspec.json.Decoder()


def event_from_row(row: Row) -> StoredEvent:
    """Build a StoredEvent from a row selected with EVENT_COLUMNS."""
    pdu = _decoder.decode(row["pdu"])
    prev_content = row["prev_content"]
    return StoredEvent(
        stream_ordering=row["stream_ordering"],
        event_id=row["event_id"],
        room_id=row["room_id"],
        type=row["type"],
        sender=row["sender"],
        content=pdu.get("content", {}),
        origin_server_ts=row["origin_server_ts"],
        depth=row["depth"],
        state_key=row["state_key"],
        redacted_by=row["redacted_by"],
        prev_content=_decoder.decode(prev_content) if prev_content is not None else None,
        prev_sender=row["prev_sender"],
        replaces_state=row["replaces_state"],
        sender_device=row["sender_device"],
        txn_id=row["txn_id"],
    )


_INSERT_EVENT = (
    "INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender,"
    " origin_server_ts, depth, state_value, replaces_state, prev_content, prev_sender,"
    " sender_device, txn_id, pdu) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_TXN = (
    "INSERT INTO room_event_txns (user_id, device_id, endpoint, txn_id, event_id, created_ts)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def event_values(new: NewEvent) -> tuple[object, ...]:
    """An event's row, in the column order of the `events` insert."""
    e = new.event
    prev = msgspec.json.encode(e.prev_content).decode() if e.prev_content is not None else None
    return (
        e.stream_ordering, e.event_id, e.room_id, e.type, e.state_key, e.sender,
        e.origin_server_ts, e.depth, new.state_value, e.replaces_state, prev,
        e.prev_sender, e.sender_device, e.txn_id, new.pdu_json,
    )  # fmt: skip


def placeholders(count: int) -> str:
    """`?, ?, ?` for an IN list."""
    return ", ".join("?" * count)


class SqlEventStore:
    """Room events and the transaction IDs that created them."""

    async def insert_event(self, q: Queryable, new: NewEvent) -> None:
        await q.execute(_INSERT_EVENT, *event_values(new))

    async def insert_events(self, q: Queryable, news: Sequence[NewEvent]) -> None:
        """Insert several events in one statement (one round trip)."""
        if len(news) == 1:
            await self.insert_event(q, news[0])
        elif news:
            await q.execute_many(_INSERT_EVENT, [event_values(new) for new in news])

    async def get_event(self, q: Queryable, event_id: str) -> StoredEvent | None:
        row = await q.fetch_one(
            f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.event_id = ?", event_id
        )
        return None if row is None else event_from_row(row)

    async def get_events(self, q: Queryable, event_ids: Sequence[str]) -> dict[str, StoredEvent]:
        if not event_ids:
            return {}
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM events e"
            f" WHERE e.event_id IN ({placeholders(len(event_ids))})",
            *event_ids,
        )
        return {row["event_id"]: event_from_row(row) for row in rows}

    async def get_pdu(self, q: Queryable, event_id: str) -> str | None:
        value: str | None = await q.fetch_val("SELECT pdu FROM events WHERE event_id = ?", event_id)
        return value

    async def set_redacted_by(self, q: Queryable, event_id: str, redaction_id: str) -> bool:
        changed = await q.execute(
            "UPDATE events SET redacted_by = ? WHERE event_id = ? AND redacted_by IS NULL",
            redaction_id,
            event_id,
        )
        return changed > 0

    async def replace_with_redacted(self, q: Queryable, pruned: PrunedEvent) -> None:
        """Keep the original aside, then store the redacted form in its place (and in the
        `prev_content` of the state event that replaced it)."""
        await q.execute(
            "INSERT INTO redacted_event_originals"
            " (event_id, room_id, redacted_by, redacted_ts, pdu)"
            " SELECT event_id, room_id, redacted_by, ?, pdu FROM events"
            " WHERE event_id = ? AND redacted_by IS NOT NULL ON CONFLICT DO NOTHING",
            pruned.redacted_ts,
            pruned.event_id,
        )
        await q.execute(
            "UPDATE events SET pdu = ? WHERE event_id = ?", pruned.pdu_json, pruned.event_id
        )
        if pruned.state_key is None:
            return  # only a state event is copied into its successor's prev_content
        await q.execute(
            "UPDATE events SET prev_content = ? WHERE room_id = ? AND type = ?"
            " AND state_key = ? AND replaces_state = ?",
            pruned.content_json,
            pruned.room_id,
            pruned.type,
            pruned.state_key,
            pruned.event_id,
        )

    async def redacted_not_pruned(self, q: Queryable, limit: int) -> list[tuple[str, str, str]]:
        """(event_id, room_id, pdu) of redacted events still holding their original content."""
        rows = await q.fetch_all(
            "SELECT e.event_id, e.room_id, e.pdu FROM events e WHERE e.redacted_by IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM redacted_event_originals o"
            " WHERE o.event_id = e.event_id) ORDER BY e.stream_ordering LIMIT ?",
            limit,
        )
        return [(row["event_id"], row["room_id"], row["pdu"]) for row in rows]

    async def room_events_between(
        self, q: Queryable, room_id: str, *, after: int, before: int, limit: int, newest_first: bool
    ) -> list[StoredEvent]:
        """Events with `after < stream_ordering < before`, from one end of that range."""
        order = "DESC" if newest_first else "ASC"
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.room_id = ?"
            " AND e.stream_ordering > ? AND e.stream_ordering < ?"
            f" ORDER BY e.stream_ordering {order} LIMIT ?",
            room_id,
            after,
            before,
            limit,
        )
        return [event_from_row(row) for row in rows]

    async def recent_events_in_rooms(
        self, q: Queryable, room_ids: Sequence[str], *, after: int, upto: int, limit: int
    ) -> list[StoredEvent]:
        """Up to `limit` newest events per room in (after, upto], oldest first: one query per
        500 rooms. Each room's `limit`-th newest position is found first (one index seek per
        room), so the cost follows `limit`, not the length of the rooms' histories."""
        rooms = list(dict.fromkeys(room_ids)) if limit > 0 else []
        events: list[StoredEvent] = []
        for start in range(0, len(rooms), 500):
            chunk = rooms[start : start + 500]
            rows = await q.fetch_all(
                f"SELECT {EVENT_COLUMNS} FROM (SELECT r.room_id, COALESCE((SELECT x.stream_ordering"
                " FROM events x WHERE x.room_id = r.room_id AND x.stream_ordering > ?"
                " AND x.stream_ordering <= ? ORDER BY x.stream_ordering DESC LIMIT 1 OFFSET ?),"
                f" ?) AS low FROM rooms r WHERE r.room_id IN ({placeholders(len(chunk))})) b"
                " JOIN events e ON e.room_id = b.room_id AND e.stream_ordering >= b.low"
                " AND e.stream_ordering > ? AND e.stream_ordering <= ? ORDER BY e.stream_ordering",
                after, upto, max(limit - 1, 0), after, *chunk, after, upto,
            )  # fmt: skip
            events += [event_from_row(row) for row in rows]
        events.sort(key=lambda e: e.stream_ordering)
        return events

    async def state_value_timeline(
        self, q: Queryable, room_id: str, event_type: str, state_key: str
    ) -> list[tuple[int, str]]:
        """(position, membership or visibility) of every event for one state key, in order."""
        rows = await q.fetch_all(
            "SELECT stream_ordering, state_value FROM events WHERE room_id = ? AND type = ?"
            " AND state_key = ? ORDER BY stream_ordering",
            room_id,
            event_type,
            state_key,
        )
        return [(row[0], row[1] or "") for row in rows]

    async def event_near_time(
        self, q: Queryable, room_id: str, ts: int, *, forwards: bool
    ) -> StoredEvent | None:
        """The closest event at or after (forwards) or at or before `ts`."""
        op, order = (">=", "ASC") if forwards else ("<=", "DESC")
        row = await q.fetch_one(
            f"SELECT {EVENT_COLUMNS} FROM events e"
            f" WHERE e.room_id = ? AND e.origin_server_ts {op} ?"
            f" ORDER BY e.origin_server_ts {order}, e.stream_ordering {order} LIMIT 1",
            room_id,
            ts,
        )
        return None if row is None else event_from_row(row)

    async def find_txn(self, q: Queryable, txn: SendTxn) -> str | None:
        value: str | None = await q.fetch_val(
            "SELECT event_id FROM room_event_txns"
            " WHERE user_id = ? AND device_id = ? AND endpoint = ? AND txn_id = ?",
            txn.user_id,
            txn.device_id,
            txn.endpoint,
            txn.txn_id,
        )
        return value

    async def find_txn_events(
        self, q: Queryable, txns: Sequence[SendTxn]
    ) -> dict[SendTxn, StoredEvent]:
        """The events stored for any of `txns`, in one statement."""
        if not txns:
            return {}
        keys = " OR ".join(
            ["(t.user_id = ? AND t.device_id = ? AND t.endpoint = ? AND t.txn_id = ?)"] * len(txns)
        )
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS}, t.user_id AS t_user, t.device_id AS t_device,"
            " t.endpoint AS t_endpoint, t.txn_id AS t_txn FROM room_event_txns t"
            f" JOIN events e ON e.event_id = t.event_id WHERE {keys}",
            *[v for txn in txns for v in (txn.user_id, txn.device_id, txn.endpoint, txn.txn_id)],
        )
        return {
            SendTxn(row["t_user"], row["t_device"], row["t_endpoint"], row["t_txn"]): (
                event_from_row(row)
            )
            for row in rows
        }

    async def insert_txns(
        self, q: Queryable, txns: Sequence[tuple[SendTxn, str]], now_ms: int
    ) -> None:
        """Insert several (txn, event_id) in one statement."""
        if len(txns) == 1:
            await self.insert_txn(q, txns[0][0], txns[0][1], now_ms)
        elif txns:
            await q.execute_many(
                _INSERT_TXN,
                [(t.user_id, t.device_id, t.endpoint, t.txn_id, e, now_ms) for t, e in txns],
            )

    async def insert_txn(self, q: Queryable, txn: SendTxn, event_id: str, now_ms: int) -> None:
        await q.execute(
            _INSERT_TXN,
            txn.user_id,
            txn.device_id,
            txn.endpoint,
            txn.txn_id,
            event_id,
            now_ms,
        )

    async def max_position(self, q: Queryable) -> int:
        return int(await q.fetch_val("SELECT MAX(stream_ordering) FROM events") or 0)
