"""SQL for push rules (`push_rules`) and notifications (see migrations/0009_create_push.sql)."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.protocols.push import (
    Counts,
    NotificationQuery,
    PushOutcomeRecord,
    UnreadCount,
)
from bastion.store.sql.events import placeholders

# Advance a read mark, never move it back.
_UPSERT_MARK = (
    " ON CONFLICT (user_id, room_id, thread_id) DO UPDATE SET"
    " stream_ordering = excluded.stream_ordering, notify_seq = excluded.notify_seq,"
    " highlight_seq = excluded.highlight_seq"
    " WHERE excluded.stream_ordering > push_read_marks.stream_ordering"
)


def _seq_at(column: str, room: str, thread: str) -> str:
    """The running total `column` of a thread as of a stream position (the `?` after room and
    thread), 0 before its first notification."""
    return (
        f"COALESCE((SELECT g.{column} FROM event_push_generic g WHERE g.room_id = {room}"
        f" AND g.thread_id = {thread} AND g.stream_ordering <= CAST(? AS BIGINT)"
        " ORDER BY g.stream_ordering DESC LIMIT 1), 0)"
    )


class SqlPushRuleStore:
    """One JSON document per user that changed their rules."""

    async def get_rules(self, q: Queryable, user_id: str) -> tuple[str, int] | None:
        row = await q.fetch_one("SELECT rules, version FROM push_rules WHERE user_id = ?", user_id)
        return None if row is None else (str(row[0]), int(row[1]))

    async def get_rules_of(self, q: Queryable, user_ids: Sequence[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        rows = await q.fetch_all(
            "SELECT user_id, rules FROM push_rules"
            f" WHERE user_id IN ({placeholders(len(user_ids))})",
            *user_ids,
        )
        return {str(row[0]): str(row[1]) for row in rows}

    async def put_rules(
        self, q: Queryable, user_id: str, rules: str, *, expected_version: int | None
    ) -> bool:
        """Write if the stored version is still `expected_version` (None: no row yet)."""
        if expected_version is None:
            inserted = await q.execute(
                "INSERT INTO push_rules (user_id, rules, version) VALUES (?, ?, 1)"
                " ON CONFLICT (user_id) DO NOTHING",
                user_id,
                rules,
            )
            return inserted == 1
        changed = await q.execute(
            "UPDATE push_rules SET rules = ?, version = version + 1"
            " WHERE user_id = ? AND version = ?",
            rules,
            user_id,
            expected_version,
        )
        return changed == 1


class SqlPushActionStore:
    """Generic outcomes with running totals, per-user differences and read marks.

    With `combined_writes` (PostgreSQL: data-modifying CTEs), `insert_generic_marking_read` is
    one statement; SQLite, where a round trip costs little, runs its parts one by one.
    """

    def __init__(self, *, combined_writes: bool = False) -> None:
        self._combined = combined_writes

    async def insert_generics_marking_read(
        self, q: Queryable, items: Sequence[tuple[PushOutcomeRecord, str]]
    ) -> None:
        """`insert_generic_marking_read` of several events (outcome, sender), in stream order:
        in one statement on PostgreSQL. Each event's running totals are the thread's new totals
        less what the later events of the group add; a sender's mark moves to their last
        event of each thread."""
        if not self._combined or len(items) < 2:
            for outcome, sender in items:
                await self.insert_generic_marking_read(q, outcome, sender)
            return
        columns = list(zip(*(
            (o.room_id, o.thread_id, o.stream_ordering, o.event_id, sender, o.actions,
             int(o.notify), int(o.highlight), o.ts)
            for o, sender in items
        ), strict=True))  # fmt: skip
        await q.execute(
            "WITH v AS (SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]),"
            " CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]),"
            " CAST(? AS INTEGER[]), CAST(? AS INTEGER[]), CAST(? AS BIGINT[])) AS v(room_id,"
            " thread_id, stream_ordering, event_id, sender, actions, notify, highlight, ts)),"
            " c AS (INSERT INTO push_thread_counters AS c (room_id, thread_id, notify_seq,"
            " highlight_seq) SELECT room_id, thread_id, SUM(notify), SUM(highlight) FROM v"
            " GROUP BY room_id, thread_id ON CONFLICT (room_id, thread_id) DO UPDATE SET"
            " notify_seq = c.notify_seq + excluded.notify_seq,"
            " highlight_seq = c.highlight_seq + excluded.highlight_seq"
            " RETURNING room_id, thread_id, notify_seq, highlight_seq),"
            " r AS (SELECT v.*, c.notify_seq - SUM(v.notify) OVER later + v.notify AS n_seq,"
            " c.highlight_seq - SUM(v.highlight) OVER later + v.highlight AS h_seq"
            " FROM v JOIN c ON c.room_id = v.room_id AND c.thread_id = v.thread_id"
            " WINDOW later AS (PARTITION BY v.room_id, v.thread_id"
            " ORDER BY v.stream_ordering DESC)),"
            " g AS (INSERT INTO event_push_generic (room_id, thread_id, stream_ordering,"
            " event_id, sender, actions, notify, highlight, notify_seq, highlight_seq, ts)"
            " SELECT room_id, thread_id, stream_ordering, event_id, sender, actions, notify,"
            " highlight, n_seq, h_seq, ts FROM r)"
            " INSERT INTO push_read_marks (user_id, room_id, thread_id, stream_ordering,"
            " notify_seq, highlight_seq) SELECT * FROM (SELECT DISTINCT ON (sender, room_id,"
            " thread_id) sender, room_id, thread_id, stream_ordering, n_seq, h_seq FROM r"
            " ORDER BY sender, room_id, thread_id, stream_ordering DESC) m" + _UPSERT_MARK,
            *(list(column) for column in columns),
        )

    async def insert_generic_marking_read(self, q: Queryable, outcome: PushOutcomeRecord,
                                          sender: str) -> None:  # fmt: skip
        """`insert_generic`, then the sender's read mark in the event's thread at the event,
        with the thread's new totals (`mark_read`): the sender's own event is read."""
        o = outcome
        if not self._combined:
            totals = await self.insert_generic(q, o, sender)
            await self.mark_read(
                q, sender, o.room_id, o.thread_id, upto=o.stream_ordering, totals=totals
            )
            return
        await q.execute(
            "WITH c AS (INSERT INTO push_thread_counters AS c (room_id, thread_id, notify_seq,"
            " highlight_seq) VALUES (?, ?, ?, ?) ON CONFLICT (room_id, thread_id) DO UPDATE SET"
            " notify_seq = c.notify_seq + excluded.notify_seq,"
            " highlight_seq = c.highlight_seq + excluded.highlight_seq"
            " RETURNING notify_seq, highlight_seq),"
            " g AS (INSERT INTO event_push_generic (room_id, thread_id, stream_ordering, event_id,"
            " sender, actions, notify, highlight, notify_seq, highlight_seq, ts)"
            " SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT),"
            " CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS INTEGER),"
            " c.notify_seq, c.highlight_seq, CAST(? AS BIGINT) FROM c)"
            " INSERT INTO push_read_marks (user_id, room_id, thread_id, stream_ordering,"
            " notify_seq, highlight_seq) SELECT CAST(? AS TEXT), CAST(? AS TEXT),"
            " CAST(? AS TEXT), CAST(? AS BIGINT), c.notify_seq, c.highlight_seq FROM c"
            + _UPSERT_MARK,
            o.room_id, o.thread_id, int(o.notify), int(o.highlight),
            o.room_id, o.thread_id, o.stream_ordering, o.event_id, sender, o.actions,
            int(o.notify), int(o.highlight), o.ts,
            sender, o.room_id, o.thread_id, o.stream_ordering,
        )  # fmt: skip

    async def insert_generic(self, q: Queryable, outcome: PushOutcomeRecord, sender: str) -> Counts:
        """Store an event's generic outcome, adding it to its thread's running totals in the same
        statement that reads them back; returns the totals including the event."""
        o = outcome
        row = await q.fetch_one(
            "INSERT INTO push_thread_counters AS c (room_id, thread_id, notify_seq, highlight_seq)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_id, thread_id) DO UPDATE SET"
            " notify_seq = c.notify_seq + excluded.notify_seq,"
            " highlight_seq = c.highlight_seq + excluded.highlight_seq"
            " RETURNING notify_seq, highlight_seq",
            o.room_id, o.thread_id, int(o.notify), int(o.highlight),
        )  # fmt: skip
        assert row is not None  # an upsert always returns its row
        totals = Counts(int(row[0]), int(row[1]))
        await q.execute(
            "INSERT INTO event_push_generic (room_id, thread_id, stream_ordering, event_id, sender,"
            " actions, notify, highlight, notify_seq, highlight_seq, ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            o.room_id, o.thread_id, o.stream_ordering, o.event_id, sender, o.actions,
            int(o.notify), int(o.highlight), totals.notify, totals.highlight, o.ts,
        )  # fmt: skip
        return totals

    async def insert_differences(self, q: Queryable, outcomes: Sequence[PushOutcomeRecord]) -> None:
        if not outcomes:
            return
        await q.execute_many(
            "INSERT INTO event_push_user (user_id, stream_ordering, room_id, thread_id, event_id,"
            " actions, notify, highlight, generic_notify, generic_highlight, ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (o.user_id, o.stream_ordering, o.room_id, o.thread_id, o.event_id, o.actions,
                 int(o.notify), int(o.highlight), int(o.generic_notify),
                 int(o.generic_highlight), o.ts)
                for o in outcomes
            ],
        )  # fmt: skip

    async def mark_read(
        self, q: Queryable, user_id: str, room_id: str, thread_id: str, *, upto: int,
        totals: Counts | None = None,
    ) -> None:  # fmt: skip
        """The user has read `thread_id` up to `upto` (with the thread's totals there, when the
        caller knows them)."""
        columns = (
            "INSERT INTO push_read_marks (user_id, room_id, thread_id, stream_ordering,"
            " notify_seq, highlight_seq)"
        )
        if totals is not None:
            await q.execute(
                columns + " VALUES (?, ?, ?, ?, ?, ?)" + _UPSERT_MARK,
                user_id, room_id, thread_id, upto, totals.notify, totals.highlight,
            )  # fmt: skip
            return
        await q.execute(
            columns + f" VALUES (?, ?, ?, ?, {_seq_at('notify_seq', '?', '?')},"
            f" {_seq_at('highlight_seq', '?', '?')})" + _UPSERT_MARK,
            user_id, room_id, thread_id, upto,
            room_id, thread_id, upto, room_id, thread_id, upto,
        )  # fmt: skip

    async def mark_all_threads_read(
        self, q: Queryable, user_id: str, room_id: str, *, upto: int
    ) -> None:
        """An unthreaded receipt (or a join): every thread of the room read up to `upto`."""
        await q.execute(
            "INSERT INTO push_read_marks (user_id, room_id, thread_id, stream_ordering,"
            " notify_seq, highlight_seq)"
            " SELECT CAST(? AS TEXT), CAST(? AS TEXT), t.thread_id, CAST(? AS BIGINT),"
            f" {_seq_at('notify_seq', 'CAST(? AS TEXT)', 't.thread_id')},"
            f" {_seq_at('highlight_seq', 'CAST(? AS TEXT)', 't.thread_id')}"
            " FROM (SELECT thread_id FROM push_thread_counters WHERE room_id = ?"
            " UNION SELECT thread_id FROM event_push_user WHERE user_id = ? AND room_id = ?"
            " UNION SELECT 'main') t WHERE true" + _UPSERT_MARK,
            user_id, room_id, upto, room_id, upto, room_id, upto,
            room_id, user_id, room_id,
        )  # fmt: skip

    async def unread_counts(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> list[UnreadCount]:
        """Per (room, thread): generic totals since the read mark, and, in separate rows, the
        corrections from the user's own differing outcomes after it (the caller adds them)."""
        if not room_ids:
            return []
        rooms = placeholders(len(room_ids))
        rows = await q.fetch_all(
            "SELECT c.room_id, c.thread_id, c.notify_seq - COALESCE(m.notify_seq, 0),"
            " c.highlight_seq - COALESCE(m.highlight_seq, 0) FROM push_thread_counters c"
            " LEFT JOIN push_read_marks m ON m.user_id = ? AND m.room_id = c.room_id"
            f" AND m.thread_id = c.thread_id WHERE c.room_id IN ({rooms})"
            " UNION ALL"
            " SELECT d.room_id, d.thread_id, SUM(d.notify - d.generic_notify),"
            " SUM(d.highlight - d.generic_highlight) FROM event_push_user d"
            " LEFT JOIN push_read_marks m ON m.user_id = d.user_id AND m.room_id = d.room_id"
            " AND m.thread_id = d.thread_id"
            f" WHERE d.user_id = ? AND d.room_id IN ({rooms})"
            " AND d.stream_ordering > COALESCE(m.stream_ordering, 0)"
            " GROUP BY d.room_id, d.thread_id",
            user_id, *room_ids, user_id, *room_ids,
        )  # fmt: skip
        return [UnreadCount(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def notifications(
        self, q: Queryable, query: NotificationQuery
    ) -> list[PushOutcomeRecord]:
        """Newest first: the generic outcomes of the rooms the user is in (since they joined)
        that they did not differ from, merged with their own differing ones."""
        wanted = "highlight" if query.only_highlight else "notify"
        before = query.before if query.before is not None else 2**62
        generic = await q.fetch_all(
            "SELECT g.room_id, g.thread_id, g.stream_ordering, g.event_id, g.actions, g.notify,"
            " g.highlight, g.ts FROM memberships m JOIN event_push_generic g"
            " ON g.room_id = m.room_id AND g.stream_ordering > m.stream_ordering"
            " WHERE m.user_id = ? AND m.membership = 'join' AND g.sender <> ?"
            f" AND g.{wanted} = 1 AND g.stream_ordering < ? AND NOT EXISTS (SELECT 1 FROM"
            " event_push_user d WHERE d.user_id = ? AND d.stream_ordering = g.stream_ordering)"
            " ORDER BY g.stream_ordering DESC LIMIT ?",
            query.user_id, query.user_id, before, query.user_id, query.limit,
        )  # fmt: skip
        own = await q.fetch_all(
            "SELECT room_id, thread_id, stream_ordering, event_id, actions, notify, highlight, ts"
            f" FROM event_push_user WHERE user_id = ? AND {wanted} = 1 AND stream_ordering < ?"
            " ORDER BY stream_ordering DESC LIMIT ?",
            query.user_id, before, query.limit,
        )  # fmt: skip
        merged = sorted((_outcome(r) for r in [*generic, *own]), key=lambda o: -o.stream_ordering)
        return merged[: query.limit]

    async def withdraw(self, q: Queryable, event_id: str) -> None:
        """A redacted event notifies nobody any more: it leaves the running totals (of the later
        events, of the thread and of the read marks at or after it) and the differing rows go.
        Redactions are rare; the cost is the thread's later events and its read marks."""
        row = await q.fetch_one(
            "SELECT room_id, thread_id, stream_ordering, notify, highlight FROM event_push_generic"
            " WHERE event_id = ?",
            event_id,
        )
        await q.execute("DELETE FROM event_push_user WHERE event_id = ?", event_id)
        if row is None:
            return
        room_id, thread_id, position, notify, highlight = (
            row[0], row[1], int(row[2]), int(row[3]), int(row[4])
        )  # fmt: skip
        await q.execute("DELETE FROM event_push_generic WHERE event_id = ?", event_id)
        minus = "notify_seq = notify_seq - ?, highlight_seq = highlight_seq - ?"
        where = "WHERE room_id = ? AND thread_id = ?"
        await q.execute(
            f"UPDATE event_push_generic SET {minus} {where} AND stream_ordering > ?",
            notify, highlight, room_id, thread_id, position,
        )  # fmt: skip
        await q.execute(
            f"UPDATE push_thread_counters SET {minus} {where}",
            notify, highlight, room_id, thread_id,
        )  # fmt: skip
        await q.execute(
            f"UPDATE push_read_marks SET {minus} {where} AND stream_ordering >= ?",
            notify, highlight, room_id, thread_id, position,
        )  # fmt: skip

    async def read_marks(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        if not room_ids:
            return {}
        rows = await q.fetch_all(
            "SELECT room_id, thread_id, stream_ordering FROM push_read_marks WHERE user_id = ?"
            f" AND room_id IN ({placeholders(len(room_ids))})",
            user_id,
            *room_ids,
        )
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}


def _outcome(row: Row) -> PushOutcomeRecord:
    return PushOutcomeRecord(
        room_id=row[0], thread_id=row[1], stream_ordering=int(row[2]), event_id=row[3],
        actions=row[4], notify=bool(row[5]), highlight=bool(row[6]), ts=int(row[7]),
    )  # fmt: skip
