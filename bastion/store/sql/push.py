"""SQL for push rules (`push_rules`) and notifications (`event_push_actions`)."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable, Row
from bastion.store.protocols.push import PushActionRecord, UnreadCount
from bastion.store.sql.events import placeholders

_ACTION_COLUMNS = (
    "user_id, stream_ordering, room_id, event_id, thread_id, actions, notify, highlight, ts,"
    " is_read"
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
    """Notification rows; `is_read` flips when a receipt passes them."""

    async def insert_actions(self, q: Queryable, actions: Sequence[PushActionRecord]) -> None:
        if not actions:
            return
        await q.execute_many(
            f"INSERT INTO event_push_actions ({_ACTION_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (a.user_id, a.stream_ordering, a.room_id, a.event_id, a.thread_id, a.actions,
                 int(a.notify), int(a.highlight), a.ts, int(a.is_read))
                for a in actions
            ],
        )  # fmt: skip

    async def delete_for_event(self, q: Queryable, event_id: str) -> None:
        """A redacted event notifies nobody any more."""
        await q.execute("DELETE FROM event_push_actions WHERE event_id = ?", event_id)

    async def mark_read(
        self, q: Queryable, user_id: str, room_id: str, *, upto: int, thread_id: str | None
    ) -> None:
        """Everything up to `upto` in the room (thread None) or in one thread becomes read."""
        sql = (
            "UPDATE event_push_actions SET is_read = 1 WHERE user_id = ? AND room_id = ?"
            " AND is_read = 0 AND stream_ordering <= ?"
        )
        if thread_id is None:
            await q.execute(sql, user_id, room_id, upto)
        else:
            await q.execute(sql + " AND thread_id = ?", user_id, room_id, upto, thread_id)

    async def unread_counts(
        self, q: Queryable, user_id: str, room_ids: Sequence[str]
    ) -> list[UnreadCount]:
        if not room_ids:
            return []
        rows = await q.fetch_all(
            "SELECT room_id, thread_id, SUM(notify), SUM(highlight) FROM event_push_actions"
            f" WHERE user_id = ? AND is_read = 0 AND room_id IN ({placeholders(len(room_ids))})"
            " GROUP BY room_id, thread_id",
            user_id,
            *room_ids,
        )
        return [UnreadCount(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def notifications(
        self, q: Queryable, user_id: str, *, before: int | None, limit: int, only_highlight: bool
    ) -> list[PushActionRecord]:
        """Newest first, below `before`, notifying (or highlighting) rows only."""
        sql = f"SELECT {_ACTION_COLUMNS} FROM event_push_actions WHERE user_id = ?"
        args: list[object] = [user_id]
        if before is not None:
            sql += " AND stream_ordering < ?"
            args.append(before)
        sql += " AND highlight = 1" if only_highlight else " AND notify = 1"
        rows = await q.fetch_all(sql + " ORDER BY stream_ordering DESC LIMIT ?", *args, limit)
        return [_action(row) for row in rows]


def _action(row: Row) -> PushActionRecord:
    return PushActionRecord(
        user_id=row[0], stream_ordering=int(row[1]), room_id=row[2], event_id=row[3],
        thread_id=row[4], actions=row[5], notify=bool(row[6]), highlight=bool(row[7]),
        ts=int(row[8]), is_read=bool(row[9]),
    )  # fmt: skip
