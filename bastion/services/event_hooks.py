"""Event hooks: what else happens when the pipeline writes a room event, in three phases.

Every room event the server creates (a message, a state event, a redaction, the initial events
of `createRoom`, a membership change, a profile change's member events, a batch of `append_batch`)
goes through `services/rooms/pipeline.py`, which calls each hook of the list wired in
`app/wiring.py`, in list order, at three points:

- `check(room_id, draft)`: before the event is written, outside any transaction and before the
  pipeline takes the room's send lock. It sees only the draft (type, sender, content, state key)
  and the room ID (None for the events of a room being created: a version 12 room's ID is the
  hash of its create event, unknown until it is built). It may refuse with a `MatrixError`,
  which reaches the client unchanged; then nothing of the operation is stored. It may instead
  return a replacement draft (same type, sender and state key; new content), which the later
  hooks and the write then use: DLP's `redact` replaces matched text this way. Returning None
  keeps the draft. DLP and policy go here. `createRoom` and `append_batch` check every event
  of the operation before opening the one transaction that writes them all, so one refusal
  refuses the whole operation.
- `record(q, event, context)`: inside the transaction that stores the event, after the event's
  row is inserted and before current state and memberships move to it (a hook reading current
  state sees the state the event was authorised against). Rows written through `q` commit with
  the event or roll back with it. A hook may still refuse here with a `MatrixError` when the
  refusal needs the database read under the room's compare-and-set (a duplicate annotation:
  see `relations/recorder.py`); the whole transaction then rolls back.
  Sends queued into one room are written in one transaction (services/rooms/send_queue.py):
  then `record_group` runs once per hook with all of them, in order (by default: `record` of
  each).
- `committed(committed)`: after the transaction has committed and the pipeline has woken the
  syncs of the users the event concerns. It must not raise (an exception is logged; the event
  stands) and should hand long work to a worker. Replayed sends (a known transaction ID) store
  nothing and call no hook after `check`.

The context carries what the pipeline already read for the auth rules (the room row with its
version, the auth state), so no hook reads them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.power_levels import PowerLevels, creators_of
from bastion.events.types import EventType
from bastion.store.database import Queryable
from bastion.store.protocols import StateKey
from bastion.store.records import RoomRecord


@dataclass(frozen=True, slots=True)
class EventContext:
    """What the pipeline read before writing an event, in the event's transaction.

    `auth_state` holds the current state events the auth rules needed (the create event, power
    levels, the members and join rules concerned), as they were before this event; it is empty
    for a create event.
    """

    room: RoomRecord
    auth_state: Mapping[StateKey, StoredEvent]
    _power: list[PowerLevels] = field(default_factory=list, compare=False, repr=False)

    @property
    def room_version(self) -> str:
        return self.room.room_version

    def power_levels(self) -> PowerLevels:
        """The room's power levels the event was authorised against (parsed once)."""
        if not self._power:
            create = self.auth_state.get((EventType.CREATE, ""))
            creators = (
                creators_of(create.sender, create.content, self.room_version)
                if create is not None
                else frozenset[str]()
            )
            levels = self.auth_state.get((EventType.POWER_LEVELS, ""))
            self._power.append(
                PowerLevels.from_state(
                    levels.content if levels is not None else None, creators, self.room_version
                )
            )
        return self._power[0]


@dataclass(frozen=True, slots=True)
class CommittedEvent:
    """A committed event, its context, and the users whose syncs the pipeline woke for it."""

    event: StoredEvent
    context: EventContext
    concerned: frozenset[str]


class EventHook:
    """One participant in writing room events; each phase does nothing unless overridden."""

    async def check(self, room_id: str | None, draft: EventDraft) -> EventDraft | None:
        """Refuse `draft` with a MatrixError before anything is written, or return the draft
        to write instead (None: `draft` as it is)."""

    async def record(self, q: Queryable, event: StoredEvent, context: EventContext) -> None:
        """Write what goes with `event`, in its transaction."""

    async def record_group(
        self, q: Queryable, written: Sequence[tuple[StoredEvent, EventContext]]
    ) -> None:
        """`record` of several events of one room written in one transaction (a group commit
        of messages: no state event, no redaction), in their order; every event's row is
        inserted before this runs. A hook may override it to write the rows of all of them in
        one statement."""
        for event, context in written:
            await self.record(q, event, context)

    async def committed(self, committed: CommittedEvent) -> None:
        """React to `committed.event` once it has committed."""
