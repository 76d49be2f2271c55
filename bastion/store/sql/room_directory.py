"""SQL for the published room directory (`room_directory`) and the state it shows."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable
from bastion.store.protocols.directory import PublishedRoomRow
from bastion.store.sql.events import EVENT_COLUMNS, event_from_row, placeholders

_ROOMS_PER_QUERY = 500  # keeps the IN list well inside both databases' parameter limits


class SqlRoomDirectoryStore:
    """Published rooms, and the current state of many rooms in one query."""

    async def publish(self, q: Queryable, room_id: str, published_by: str, now_ms: int) -> None:
        await q.execute(
            "INSERT INTO room_directory (room_id, published_by, published_ts) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id) DO NOTHING",
            room_id,
            published_by,
            now_ms,
        )

    async def unpublish(self, q: Queryable, room_id: str) -> None:
        await q.execute("DELETE FROM room_directory WHERE room_id = ?", room_id)

    async def is_published(self, q: Queryable, room_id: str) -> bool:
        row = await q.fetch_one("SELECT 1 FROM room_directory WHERE room_id = ?", room_id)
        return row is not None

    async def published_rooms(
        self, q: Queryable, *, network: tuple[str, str] | None = None, all_networks: bool = False
    ) -> list[PublishedRoomRow]:
        """Published rooms, largest first, then by room ID (a stable order for paging)."""
        args: tuple[str, ...] = ()
        if all_networks:
            source = (
                "(SELECT room_id FROM room_directory"
                " UNION SELECT room_id FROM appservice_room_directory)"
            )
        elif network is not None:
            source = (
                "(SELECT room_id FROM appservice_room_directory"
                " WHERE appservice_id = ? AND network_id = ?)"
            )
            args = network
        else:
            source = "room_directory"
        rows = await q.fetch_all(
            f"SELECT d.room_id, COUNT(m.user_id) AS joined FROM {source} d"
            " LEFT JOIN memberships m ON m.room_id = d.room_id AND m.membership = 'join'"
            " GROUP BY d.room_id ORDER BY joined DESC, d.room_id",
            *args,
        )
        return [PublishedRoomRow(room_id=r[0], num_joined_members=int(r[1])) for r in rows]

    async def publish_for_network(
        self, q: Queryable, network: tuple[str, str], room_id: str, now_ms: int
    ) -> None:
        await q.execute(
            "INSERT INTO appservice_room_directory"
            " (appservice_id, network_id, room_id, published_ts) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (appservice_id, network_id, room_id) DO NOTHING",
            *network,
            room_id,
            now_ms,
        )

    async def unpublish_for_network(
        self, q: Queryable, network: tuple[str, str], room_id: str
    ) -> None:
        await q.execute(
            "DELETE FROM appservice_room_directory"
            " WHERE appservice_id = ? AND network_id = ? AND room_id = ?",
            *network,
            room_id,
        )

    async def current_state_of_rooms(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str]
    ) -> list[StoredEvent]:
        """The current state events with an empty state key of the given types and rooms."""
        where = f"cs.type IN ({placeholders(len(types))}) AND cs.state_key = ''"
        return await _current_state(q, room_ids, where, types)

    async def space_children(self, q: Queryable, room_ids: Sequence[str]) -> list[StoredEvent]:
        """The current `m.space.child` state events (every state key) of the given rooms."""
        return await _current_state(q, room_ids, "cs.type = 'm.space.child'", ())


async def _current_state(
    q: Queryable, room_ids: Sequence[str], where: str, args: Sequence[str]
) -> list[StoredEvent]:
    """Current state events of `room_ids` matching `where` (with `args`), a batch of rooms per
    query."""
    events: list[StoredEvent] = []
    for start in range(0, len(room_ids), _ROOMS_PER_QUERY):
        batch = room_ids[start : start + _ROOMS_PER_QUERY]
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM current_state cs JOIN events e"
            f" ON e.event_id = cs.event_id WHERE cs.room_id IN ({placeholders(len(batch))})"
            f" AND {where}",
            *batch,
            *args,
        )
        events += [event_from_row(row) for row in rows]
    return events
