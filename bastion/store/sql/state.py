"""SQL for room state (`current_state`, and state at a past position from `events`).

`current_state` holds, per room, the event that currently fills each (type, state_key). State at a
past position is the newest state event per key at or before it; that reads the room's state
events, so it is used only off the hot path (/members?at, /context), never by /sync.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable
from bastion.store.sql.events import EVENT_COLUMNS, event_from_row, placeholders

StateKey = tuple[str, str]
_MAX_KEYS = 500  # member keys in one statement (SQLite allows 999 parameters)
_MAX_ROOMS = 200  # room IDs in one statement, beside up to _MAX_KEYS member keys


class SqlStateStore:
    """Current and historical room state."""

    async def set_current(
        self, q: Queryable, room_id: str, key: StateKey, event_id: str, position: int
    ) -> None:
        await q.execute(
            "INSERT INTO current_state (room_id, type, state_key, event_id, stream_ordering)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, type, state_key)"
            " DO UPDATE SET event_id = excluded.event_id,"
            " stream_ordering = excluded.stream_ordering",
            room_id,
            key[0],
            key[1],
            event_id,
            position,
        )

    async def current_events(
        self, q: Queryable, room_id: str, keys: Sequence[StateKey]
    ) -> dict[StateKey, StoredEvent]:
        """The current events for the given keys (absent keys are left out)."""
        if not keys:
            return {}
        condition = " OR ".join("(cs.type = ? AND cs.state_key = ?)" for _ in keys)
        args = [part for key in keys for part in key]
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM current_state cs JOIN events e"
            f" ON e.event_id = cs.event_id WHERE cs.room_id = ? AND ({condition})",
            room_id,
            *args,
        )
        events = [event_from_row(row) for row in rows]
        return {(e.type, e.state_key or ""): e for e in events}

    async def current_state(
        self, q: Queryable, room_id: str, *, types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        """Every current state event of a room (optionally only some types)."""
        type_filter = ""
        if types is not None:
            type_filter = f" AND cs.type IN ({placeholders(len(types))})"
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM current_state cs JOIN events e"
            f" ON e.event_id = cs.event_id WHERE cs.room_id = ?{type_filter}"
            " ORDER BY cs.stream_ordering",
            room_id,
            *(types or ()),
        )
        return [event_from_row(row) for row in rows]

    async def current_state_selected(
        self, q: Queryable, room_id: str, types: Sequence[str], members: Sequence[str]
    ) -> list[StoredEvent]:
        """Current state of `types` and the member events of `members`: one query (more only
        past 500 members), as sliding sync reads a room's required state with lazy members."""
        keys = list(members)
        chunks = [keys[i : i + _MAX_KEYS] for i in range(0, len(keys), _MAX_KEYS)] or [[]]
        events: list[StoredEvent] = []
        for index, chunk in enumerate(chunks):
            chunk_types = types if index == 0 else []
            clauses: list[str] = []
            if chunk_types:
                clauses.append(f"cs.type IN ({placeholders(len(chunk_types))})")
            if chunk:
                clauses.append(
                    f"(cs.type = 'm.room.member' AND cs.state_key IN ({placeholders(len(chunk))}))"
                )
            if not clauses:
                continue
            rows = await q.fetch_all(
                f"SELECT {EVENT_COLUMNS} FROM current_state cs JOIN events e"
                f" ON e.event_id = cs.event_id WHERE cs.room_id = ? AND ({' OR '.join(clauses)})"
                " ORDER BY cs.stream_ordering",
                room_id,
                *chunk_types,
                *chunk,
            )
            events += [event_from_row(row) for row in rows]
        return events

    async def current_state_selected_in_rooms(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str], members: Sequence[str]
    ) -> list[StoredEvent]:
        """`current_state_selected` for many rooms at once (every member of `members` in each):
        one query per 200 rooms and 500 members, as sliding sync builds many rooms at once."""
        rooms, keys = list(dict.fromkeys(room_ids)), list(members)
        key_chunks = [keys[i : i + _MAX_KEYS] for i in range(0, len(keys), _MAX_KEYS)] or [[]]
        events: list[StoredEvent] = []
        for start in range(0, len(rooms), _MAX_ROOMS):
            chunk_rooms = rooms[start : start + _MAX_ROOMS]
            for index, chunk in enumerate(key_chunks):
                chunk_types = types if index == 0 else []
                clauses: list[str] = []
                if chunk_types:
                    clauses.append(f"cs.type IN ({placeholders(len(chunk_types))})")
                if chunk:
                    clauses.append(
                        "(cs.type = 'm.room.member'"
                        f" AND cs.state_key IN ({placeholders(len(chunk))}))"
                    )
                if not clauses:
                    continue
                rows = await q.fetch_all(
                    f"SELECT {EVENT_COLUMNS} FROM current_state cs JOIN events e"
                    f" ON e.event_id = cs.event_id WHERE cs.room_id IN"
                    f" ({placeholders(len(chunk_rooms))}) AND ({' OR '.join(clauses)})"
                    " ORDER BY cs.stream_ordering",
                    *chunk_rooms,
                    *chunk_types,
                    *chunk,
                )
                events += [event_from_row(row) for row in rows]
        return events

    async def current_state_changed_after(
        self, q: Queryable, room_id: str, position: int
    ) -> list[StoredEvent]:
        """Current state events that were set after `position`."""
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM current_state cs JOIN events e"
            " ON e.event_id = cs.event_id WHERE cs.room_id = ? AND cs.stream_ordering > ?"
            " ORDER BY cs.stream_ordering",
            room_id,
            position,
        )
        return [event_from_row(row) for row in rows]

    async def state_at(
        self, q: Queryable, room_id: str, position: int, *, event_type: str | None = None
    ) -> list[StoredEvent]:
        """The room state after the event at `position` (the newest event per key up to it)."""
        type_filter = " AND e.type = ?" if event_type is not None else ""
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM events e JOIN (SELECT type, state_key,"
            " MAX(stream_ordering) AS newest FROM events WHERE room_id = ?"
            " AND state_key IS NOT NULL AND stream_ordering <= ? GROUP BY type, state_key) s"
            f" ON e.stream_ordering = s.newest WHERE 1 = 1{type_filter} ORDER BY e.stream_ordering",
            room_id,
            position,
            *((event_type,) if event_type is not None else ()),
        )
        return [event_from_row(row) for row in rows]
