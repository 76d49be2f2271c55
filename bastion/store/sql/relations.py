"""SQL for event relationships (`event_relations`) and thread activity (`threads`).

Rows are written and deleted only by the event pipeline, in the transaction that stores (or
redacts) the child event, so a row exists exactly while its child's `m.relates_to` stands.
Children are ordered by stream position ("topologically" in the spec's words); an edit's recency
is `origin_server_ts`, then `event_id`, as the spec defines it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable, Row
from bastion.store.protocols import AggregationRow, ChildrenQuery, RelationRecord
from bastion.store.sql.events import EVENT_COLUMNS, event_from_row, placeholders

_RELATION_COLUMNS = (
    "event_id, relates_to_id, rel_type, aggregation_key, room_id, type, sender,"
    " stream_ordering, origin_server_ts"
)

# The children a bundled aggregation needs, in one pass over the parents' relations: the latest
# m.thread child (by position) and the latest m.replace by the parent's own sender, of the same
# type, of a non-state parent (by timestamp, then event ID), each with the count and whether the
# viewer sent one; and every m.reference.
_AGGREGATION_SQL = (
    f"SELECT x.rel_type AS agg_rel_type, x.relates_to_id AS agg_parent, x.cnt, x.participated,"
    f" {EVENT_COLUMNS} FROM ("
    " SELECT r.rel_type, r.relates_to_id, r.event_id,"
    " COUNT(*) OVER (PARTITION BY r.relates_to_id, r.rel_type) AS cnt,"
    " MAX(CASE WHEN r.sender = ? THEN 1 ELSE 0 END)"
    " OVER (PARTITION BY r.relates_to_id, r.rel_type) AS participated,"
    " ROW_NUMBER() OVER (PARTITION BY r.relates_to_id, r.rel_type ORDER BY"
    " CASE WHEN r.rel_type = 'm.replace' THEN r.origin_server_ts ELSE r.stream_ordering END DESC,"
    " r.event_id DESC) AS rn"
    " FROM event_relations r JOIN events p"
    " ON p.event_id = r.relates_to_id AND p.room_id = r.room_id"
    " WHERE r.relates_to_id IN ({parents}) AND (r.rel_type IN ('m.thread', 'm.reference')"
    " OR (r.rel_type = 'm.replace' AND r.sender = p.sender AND r.type = p.type"
    " AND p.state_key IS NULL))"
    ") x JOIN events e ON e.event_id = x.event_id"
    " WHERE x.rel_type = 'm.reference' OR x.rn = 1"
    " ORDER BY e.stream_ordering"
)


def _relation_from_row(row: Row) -> RelationRecord:
    return RelationRecord(
        event_id=row["event_id"],
        relates_to_id=row["relates_to_id"],
        rel_type=row["rel_type"],
        aggregation_key=row["aggregation_key"],
        room_id=row["room_id"],
        type=row["type"],
        sender=row["sender"],
        stream_ordering=row["stream_ordering"],
        origin_server_ts=row["origin_server_ts"],
    )


def _level_filter(query: ChildrenQuery) -> tuple[str, list[object]]:
    """The `rel_type` / `type` conditions applied at every level of the walk."""
    sql, args = " AND r.room_id = ?", list[object]([query.room_id])
    if query.rel_type is not None:
        sql += " AND r.rel_type = ?"
        args.append(query.rel_type)
    if query.event_type is not None:
        sql += " AND r.type = ?"
        args.append(query.event_type)
    return sql, args


class SqlRelationStore:
    """Relationships between events, and the threads they form."""

    async def insert_relation(self, q: Queryable, relation: RelationRecord) -> None:
        r = relation
        await q.execute(
            f"INSERT INTO event_relations ({_RELATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            r.event_id, r.relates_to_id, r.rel_type, r.aggregation_key, r.room_id, r.type,
            r.sender, r.stream_ordering, r.origin_server_ts,
        )  # fmt: skip

    async def delete_relation(self, q: Queryable, event_id: str) -> RelationRecord | None:
        row = await q.fetch_one(
            f"DELETE FROM event_relations WHERE event_id = ? RETURNING {_RELATION_COLUMNS}",
            event_id,
        )
        return None if row is None else _relation_from_row(row)

    async def get_relation(self, q: Queryable, event_id: str) -> RelationRecord | None:
        row = await q.fetch_one(
            f"SELECT {_RELATION_COLUMNS} FROM event_relations WHERE event_id = ?", event_id
        )
        return None if row is None else _relation_from_row(row)

    async def has_annotation(
        self, q: Queryable, parent_id: str, sender: str, event_type: str, key: str
    ) -> bool:
        value = await q.fetch_val(
            "SELECT 1 FROM event_relations WHERE relates_to_id = ? AND rel_type = 'm.annotation'"
            " AND sender = ? AND type = ? AND aggregation_key = ?",
            parent_id,
            sender,
            event_type,
            key,
        )
        return value is not None

    async def touch_thread(
        self, q: Queryable, room_id: str, thread_id: str, event_id: str, position: int
    ) -> None:
        await q.execute(
            "INSERT INTO threads (room_id, thread_id, latest_event_id, latest_position)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_id, thread_id) DO UPDATE SET"
            " latest_event_id = excluded.latest_event_id,"
            " latest_position = excluded.latest_position"
            " WHERE excluded.latest_position > threads.latest_position",
            room_id,
            thread_id,
            event_id,
            position,
        )

    async def refresh_thread(self, q: Queryable, room_id: str, thread_id: str) -> None:
        latest = await q.fetch_one(
            "SELECT event_id, stream_ordering FROM event_relations"
            " WHERE relates_to_id = ? AND rel_type = 'm.thread' AND room_id = ?"
            " ORDER BY stream_ordering DESC LIMIT 1",
            thread_id,
            room_id,
        )
        if latest is None:
            await q.execute(
                "DELETE FROM threads WHERE room_id = ? AND thread_id = ?", room_id, thread_id
            )
            return
        await q.execute(
            "UPDATE threads SET latest_event_id = ?, latest_position = ?"
            " WHERE room_id = ? AND thread_id = ?",
            latest["event_id"],
            latest["stream_ordering"],
            room_id,
            thread_id,
        )

    async def children(self, q: Queryable, query: ChildrenQuery) -> list[StoredEvent]:
        """Children (and, past depth 1, their children) of one parent, a page at a time.

        A child has one parent and comes after it, so the walk is a tree: no event twice.
        """
        level, level_args = _level_filter(query)
        order = "DESC" if query.newest_first else "ASC"
        rows = await q.fetch_all(
            "WITH RECURSIVE related (event_id, depth) AS ("
            f" SELECT r.event_id, 1 FROM event_relations r WHERE r.relates_to_id = ?{level}"
            " UNION ALL"
            " SELECT r.event_id, related.depth + 1 FROM event_relations r"
            f" JOIN related ON r.relates_to_id = related.event_id WHERE related.depth < ?{level}"
            f") SELECT {EVENT_COLUMNS} FROM related JOIN events e ON e.event_id = related.event_id"
            " WHERE e.stream_ordering > ? AND e.stream_ordering < ?"
            f" ORDER BY e.stream_ordering {order} LIMIT ?",
            query.parent_id, *level_args, query.max_depth, *level_args,
            query.after, query.before, query.limit,
        )  # fmt: skip
        return [event_from_row(row) for row in rows]

    async def aggregation_rows(
        self, q: Queryable, parent_ids: Sequence[str], viewer: str
    ) -> list[AggregationRow]:
        if not parent_ids:
            return []
        rows = await q.fetch_all(
            _AGGREGATION_SQL.format(parents=placeholders(len(parent_ids))), viewer, *parent_ids
        )
        return [
            AggregationRow(
                rel_type=row["agg_rel_type"],
                relates_to_id=row["agg_parent"],
                count=int(row["cnt"]),
                viewer_participated=bool(row["participated"]),
                event=event_from_row(row),
            )
            for row in rows
        ]

    async def thread_roots(
        self, q: Queryable, room_id: str, *, upto: int, limit: int, participant: str | None
    ) -> list[tuple[StoredEvent, int]]:
        """Roots of the room's threads whose latest activity is at or before `upto`, newest
        activity first; with `participant`, only threads they started or replied in."""
        only_participated = ""
        args: list[object] = [room_id, upto]
        if participant is not None:
            only_participated = (
                " AND (e.sender = ? OR EXISTS (SELECT 1 FROM event_relations r"
                " WHERE r.relates_to_id = t.thread_id AND r.rel_type = 'm.thread'"
                " AND r.sender = ?))"
            )
            args += [participant, participant]
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS}, t.latest_position FROM threads t"
            " JOIN events e ON e.event_id = t.thread_id AND e.room_id = t.room_id"
            f" WHERE t.room_id = ? AND t.latest_position <= ?{only_participated}"
            " ORDER BY t.latest_position DESC LIMIT ?",
            *args,
            limit,
        )
        return [(event_from_row(row), int(row["latest_position"])) for row in rows]
