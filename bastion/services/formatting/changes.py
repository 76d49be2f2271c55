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

Invariant: only this process writes relationships (one writing process, as store/stream.py);
several writers need the notes shared over the bus (scale-out work).
"""

from __future__ import annotations

from collections import OrderedDict


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

    def may_have_children(self, room_id: str, oldest: int) -> bool:
        """False only when no relationship was recorded in `room_id` after position `oldest`."""
        if oldest < self._floor:
            return True
        latest = self._latest.get(room_id)
        return latest is not None and latest > oldest
