"""The viewer's memberships as they stood at the end of a sync's window.

A sync reports what happened up to `upto`, a position read before its queries run; a member
event of the viewer may commit after `upto` meanwhile (a display name change writes a new join
event into every room, a leave, a kick). The `memberships` table only holds the newest record,
so a record past `upto` must be walked back along `replaces_state` to the one in force at `upto`:
dropping it instead would hide the room's events in (since, upto] for good, since the next sync
starts at `upto` (and an initial sync would never send the room's state).

One query per step for all rooms together; a record whose walk finds nothing at or before
`upto` (the viewer's first member event came later) is not part of this window.
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.store.database import Queryable
from bastion.store.protocols import EventStore
from bastion.store.records import MembershipRecord


async def memberships_as_of(
    q: Queryable, events: EventStore, records: Sequence[MembershipRecord], upto: int
) -> list[MembershipRecord]:
    """`records` as they stood at `upto`, in the same order where known."""
    settled = {r.room_id: r for r in records if r.stream_ordering <= upto}
    walking = {r.event_id: r for r in records if r.stream_ordering > upto}
    while walking:
        found = await events.get_events(q, list(walking))
        step: dict[str, MembershipRecord] = {}
        for event_id, record in walking.items():
            event = found.get(event_id)
            if event is None:
                continue
            if event.stream_ordering <= upto:
                if event.membership is not None:
                    settled[record.room_id] = MembershipRecord(
                        record.user_id, record.room_id, event.membership, event.event_id,
                        event.stream_ordering, record.forgotten,
                    )  # fmt: skip
            elif event.replaces_state is not None:
                step[event.replaces_state] = record
        walking = step
    return [settled[r.room_id] for r in records if r.room_id in settled]
