"""After commit: what the pipeline (pipeline.py, send_queue.py) does once events have committed.

For written events, in order: the members cache learns a membership change, the syncs of the
users each event concerns (the room's joined members, a membership change's target) are woken,
then `committed` of every hook runs (a failing hook is logged; the event stands).

Invariant: every invalidation goes out before the first await, so no reader can keep a member
list older than a committed batch; a member event that leaves the joined set as it was (a join
replacing a join: a profile change) invalidates nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated, EventsPersisted
from bastion.services.event_hooks import CommittedEvent, EventHook
from bastion.services.members_cache import MEMBERS_CACHE, RoomMembersCache
from bastion.services.rooms.pipeline_parts import Written, changes_joined_members

log = logging.getLogger(__name__)


class Announcer:
    """Announces committed events: members cache, wake-ups, `committed` hooks."""

    def __init__(self, bus: Bus, members: RoomMembersCache, hooks: Sequence[EventHook]) -> None:
        self._bus = bus
        self._members = members
        self._hooks = tuple(hooks)

    async def announce(self, written: Sequence[Written]) -> None:
        for item in written:
            if changes_joined_members(item.event):
                self._bus.publish(CacheInvalidated(MEMBERS_CACHE, item.event.room_id))
        for item in written:
            event = item.event
            joined = await self._members.joined(event.room_id)
            # A member event's target is named: a leaver is no longer joined, and another
            # process adds only the joined members to a big room's event (pubsub/redis.py).
            named = (
                frozenset({event.state_key})
                if event.membership is not None and event.state_key is not None
                else frozenset()
            )
            concerned = frozenset(joined | named) if named else frozenset(joined)
            self._bus.publish(
                EventsPersisted(event.stream_ordering, concerned, event.room_id, named)
            )
            await self._run_committed(CommittedEvent(event, item.context, concerned))

    async def _run_committed(self, committed: CommittedEvent) -> None:
        for hook in self._hooks:
            try:
                await hook.committed(committed)
            except Exception:  # the event has committed: a hook's failure cannot undo it
                log.exception("%s failed after %s", type(hook).__name__, committed.event.event_id)
