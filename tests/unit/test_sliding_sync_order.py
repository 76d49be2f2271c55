"""The lists' order of a sliding-sync connection (services/sliding_sync/order.py): what a
woken request derives from the previous order (the rooms re-placed, the index and the room
IDs kept per order) must be what sorting every room again gives (MSC4186 "Lists": sorted by
`bump_stamp`, newest first)."""

from __future__ import annotations

import random

from bastion.services.sliding_sync.order import ListOrder, StoredList, sort_key


def _order(rooms: list[tuple[str, int]]) -> ListOrder:
    return ListOrder("key", sorted(rooms, key=sort_key), {"all": StoredList(None, None)})


def test_re_placed_rooms_give_the_order_a_full_sort_gives() -> None:
    """Random bumps (up, down, new rooms, a few or most of the rooms at once) on orders of
    random sizes: the order, its index, its room IDs and each list's rooms equal a full
    sort's."""
    rng = random.Random(7)
    for _ in range(400):
        size = rng.randint(1, 100)
        rooms = [(f"!r{i:03d}:hs", rng.randint(1, 100)) for i in range(size)]
        before = _order(rooms)
        before.room_ids()  # kept, so the next one derives its IDs from these
        moved = {rng.choice(rooms)[0]: rng.randint(1, 200) for _ in range(rng.randint(1, 90))}
        if rng.random() < 0.2:
            moved[f"!new{rng.randint(0, 9)}:hs"] = rng.randint(1, 200)
        after = before.moved(moved, {})
        expected = _order(
            [(r, moved.get(r, b)) for r, b in rooms]
            + [(r, b) for r, b in moved.items() if r.startswith("!new")]
        )
        assert after.rooms == expected.rooms
        assert after.room_ids() == [r for r, _ in expected.rooms]
        assert after.index() == dict(expected.rooms)
        assert after.results()["all"].room_ids() == [r for r, _ in expected.rooms]
