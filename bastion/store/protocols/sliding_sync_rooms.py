"""Positions that simplified sliding sync (MSC4186) reads for many rooms at once.

Positions only: no event content leaves this store, so the read door (services/visibility.py)
is not bypassed: the timeline and state of a room are still read through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.store.database import Queryable


@dataclass(frozen=True, slots=True)
class RoomPositions:
    """Where a room stands for one user at some position."""

    bump: int  # newest event of a bump type (joined), or the user's membership change (others)
    newest: int  # newest event of the room at or before the position (0: none)
    joined: bool = True  # the user's membership was "join" when read


class SlidingRoomStore(Protocol):
    """Bump stamps and activity of a user's rooms."""

    async def room_positions(
        self, q: Queryable, user_id: str, room_ids: Sequence[str], types: Sequence[str], upto: int
    ) -> dict[str, RoomPositions]:
        """room_id -> positions at `upto` of each room the user has a membership in (the
        others are left out). One query."""
        ...

    async def rooms_with_activity(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> dict[str, int]:
        """room_id -> newest position in (after, upto] of the rooms of the user (any
        membership) that received events then. Cost follows the new events, not the rooms."""
        ...

    async def own_receipts(
        self, q: Queryable, user_id: str, *, after: int, upto: int
    ) -> dict[str, int]:
        """room_id -> position of the newest receipt the user wrote in (after, upto] (their
        read receipts move their unread counts). Cost follows the new receipts."""
        ...

    async def room_members(
        self, q: Queryable, room_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """room_id -> (user_id, membership) of every member record, in stream order (the
        heroes of unnamed rooms). One query per 500 rooms."""
        ...

    async def global_account_data(
        self, q: Queryable, user_id: str, data_type: str
    ) -> tuple[dict[str, Any], int] | None:
        """(content, stream position of its last change) of one global account-data type."""
        ...
