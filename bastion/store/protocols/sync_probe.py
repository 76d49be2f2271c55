"""What an incremental /sync needs before it can read anything else, in one statement.

A woken incremental /sync usually has one kind of news (a message); asking each stream in turn
costs a round trip per stream even when it is empty. The probe answers at once which joined
rooms got events in the window, the device's key counts (every response carries them), and, for
the streams a sync would otherwise ask one by one, whether there is anything at all; the sync
then queries only the streams that said yes. It also reads the unread-count rows of the active
rooms (what `PushActionStore.unread_counts` gives for them), so a sync woken by a message needs
no statement of its own for them. A `True` may be coarse (that stream's own query then
finds nothing and the response is the same); a `False` must be exact: nothing of that stream in
the window can belong in the response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bastion.store.database import Queryable
from bastion.store.protocols.push import UnreadCount


@dataclass(frozen=True, slots=True)
class SyncNews:
    """Per stream: whether the window (after, upto] may hold something for the viewer."""

    account_data: bool = True  # the viewer's account data (global and per room)
    own_membership: bool = True  # the viewer's membership records
    receipts: bool = True  # receipts anywhere (coarse)
    to_device: bool = True  # messages waiting for the viewer's device at or before `upto`
    device_lists: bool = True  # device-list changes or membership moves anywhere (coarse)
    presence: bool = True  # presence changes anywhere (coarse)


@dataclass(frozen=True, slots=True)
class SyncProbe:
    """The answer of `SyncProbeStore.probe`."""

    news: SyncNews
    # joined rooms with events in the window -> the position of the viewer's join
    active_rooms: dict[str, int] = field(default_factory=dict)
    one_time_key_counts: dict[str, int] = field(default_factory=dict)
    unused_fallback_key_types: list[str] = field(default_factory=list)
    # `PushActionStore.unread_counts` rows of the viewer in `active_rooms`, read in the probe
    unread: list[UnreadCount] = field(default_factory=list)
    # with `bump_types`: active room -> (its newest event, its newest of those types, 0: none),
    # both in the window
    places: dict[str, tuple[int, int]] = field(default_factory=dict)


class SyncProbeStore(Protocol):
    async def probe(
        self,
        q: Queryable,
        user_id: str,
        device_id: str,
        *,
        after: int,
        upto: int,
        bump_types: Sequence[str] = (),
        rooms: bool = True,
    ) -> SyncProbe:
        """The probe for (`user_id`, `device_id`) over the window (after, upto]; with
        `bump_types`, also each active room's `places`; with `rooms=False`, only the news bits
        and the key counts (no active rooms, unread rows or places)."""
        ...
