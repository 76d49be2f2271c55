"""Which rooms gained relationships since when, so pages without any cost no query.

Most pages of most rooms have no child events at all; asking the database for aggregations of
every page would add a query to every /sync. The cache answers "may any event at or after
position P in room R have children?" from memory (Synapse's StreamChangeCache idea):

* The pipeline calls `note` inside the transaction that records a relationship, before commit.
  A rolled-back note only makes the cache answer "maybe" once too often; never "no" wrongly.
* A child always comes after its parent, so a page whose oldest event is at P can only have
  children recorded after P. Positions at or below `floor` (the stream position when the process
  started, raised when a room is evicted) are unknown: the answer there is always "maybe".
* Redacting a child changes its parent's aggregation without a note: the child's own note is
  already later than the parent, which is enough.

Several processes: the recorder also publishes each note (`RelationNoted`, before commit like
the local note) and every process's cache applies the others' (`listen_to`). A `DeliveryGap`
(notes from other processes may have been missed) raises `floor` to the current position:
"maybe" for every older page, exact again for newer ones.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from bastion.pubsub.base import Bus
from bastion.pubsub.messages import DeliveryGap, RelationNoted


class RelationChangeCache:
    """room_id -> stream position of the newest relationship recorded in it since `floor`."""

    def __init__(self, floor: int, max_rooms: int = 100_000) -> None:
        self._floor = floor
        self._max_rooms = max_rooms
        self._latest: OrderedDict[str, int] = OrderedDict()

    def note(self, room_id: str, position: int) -> None:
        """A relationship is being recorded in `room_id` at `position`."""
        self._latest[room_id] = max(position, self._latest.get(room_id, position))
        self._latest.move_to_end(room_id)
        if len(self._latest) > self._max_rooms:
            _, evicted = self._latest.popitem(last=False)
            self._floor = max(self._floor, evicted)

    def listen_to(self, bus: Bus, current_position: Callable[[], int]) -> None:
        """Apply the notes of every process; after a gap, forget what is older than now."""
        bus.subscribe(RelationNoted, lambda m: self.note(m.room_id, m.position))
        bus.subscribe(DeliveryGap, lambda _m: self.unknown_upto(current_position()))

    def unknown_upto(self, position: int) -> None:
        """Notes at or before `position` may be missing: answer "maybe" for those pages."""
        self._floor = max(self._floor, position)

    def may_have_children(self, room_id: str, oldest: int) -> bool:
        """False only when no relationship was recorded in `room_id` after position `oldest`."""
        if oldest < self._floor:
            return True
        latest = self._latest.get(room_id)
        return latest is not None and latest > oldest
