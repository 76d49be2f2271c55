"""Device-list changes: who must re-fetch whose keys.

A user's device list changes when a device uploads or loses keys, is deleted, or the user's
cross-signing keys or signatures change. Each change takes a stream position and wakes the user
and everyone who shares a room with them. /sync and `GET /keys/changes` then report, for the
viewer: `changed` (changed users they share a room with, and users who newly share one) and
`left` (users they no longer share any room with).

`devices_removed` is also where every revocation ends (logout, logout all, device deletion by
the user or an admin, password reset, deactivation, console sign-out): its first step tells
every process (`SessionsRevoked`, confirmed by the bus before it returns), so a revoked
device's sync parked on any process wakes, finds its device gone and answers 401 before the
revoking request has returned. Tokens are never cached: each request reads its token from the
database (services/auth.py), so nothing else needs invalidating.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bastion.pubsub.base import Bus
from bastion.pubsub.messages import EventsPersisted, SessionsRevoked
from bastion.store.database import Database, Queryable, Transaction
from bastion.store.protocols import KeyStore
from bastion.store.stream import PositionAllocator


@dataclass
class ChangeTransaction:
    """A transaction whose users' device-list changes commit with it (`changing`). The caller
    clears `changed` when its writes turned out to change nothing (keys uploaded again)."""

    txn: Transaction
    changed: bool = True


class DeviceListService:
    """Records device-list changes and computes what a viewer must hear about."""

    def __init__(
        self, db: Database, keys: KeyStore, positions: PositionAllocator, bus: Bus
    ) -> None:
        self._db = db
        self._keys = keys
        self._positions = positions
        self._bus = bus

    @asynccontextmanager
    async def changing(self, *user_ids: str) -> AsyncIterator[ChangeTransaction]:
        """A transaction for writes that change the device lists of `user_ids`: the change
        notices commit in it. Recorded after the writes' own transaction, a crash between the
        two would keep new keys that nobody hears of: peers' clients would go on encrypting
        for the old devices, and the new one could not read them, with nothing to mend it.
        Without `user_ids`, a plain transaction (no stream position taken)."""
        if not user_ids:
            async with self._db.transaction() as t:
                yield ChangeTransaction(t, changed=False)
            return
        with self._positions.allocate(len(user_ids)) as positions:
            async with self._db.transaction() as t:
                change = ChangeTransaction(t)
                yield change
                if change.changed:
                    for user_id, position in zip(user_ids, positions, strict=True):
                        await self._keys.record_device_list_change(t, user_id, position)
        if change.changed:
            for user_id, position in zip(user_ids, positions, strict=True):
                watchers = await self._keys.users_sharing_any_room(self._db, user_id)
                self._bus.publish(EventsPersisted(position, frozenset({user_id, *watchers})))

    async def sessions_revoked(self, user_id: str) -> None:
        """Tokens of `user_id` were revoked with their devices kept: wake the user's parked
        syncs on every process (confirmed), which re-check their tokens."""
        await self._bus.publish_confirmed(SessionsRevoked(user_id))

    async def devices_removed(
        self, user_id: str, device_ids: Sequence[str] | None, *, keep_device_id: str | None = None
    ) -> None:
        """After devices were deleted (their tokens with them): wake the user's parked syncs on
        every process (confirmed), drop the devices' keys and announce the change.

        `device_ids` None means every device of the user except `keep_device_id`.
        """
        await self._bus.publish_confirmed(SessionsRevoked(user_id))
        async with self.changing(user_id) as change:
            await self._keys.delete_device_keys(
                change.txn, user_id, device_ids, keep_device_id=keep_device_id
            )

    async def changes(self, viewer: str, *, after: int, upto: int) -> tuple[list[str], list[str]]:
        """(changed, left) for `viewer` between two stream positions."""
        return await device_list_delta(self._db, self._keys, viewer, after=after, upto=upto)


async def device_list_delta(
    q: Queryable, keys: KeyStore, viewer: str, *, after: int, upto: int
) -> tuple[list[str], list[str]]:
    """(changed, left): see the module docstring."""
    changed = set(await keys.device_list_changes(q, viewer, after=after, upto=upto))
    joined, departed = await keys.membership_moves(q, viewer, after=after, upto=upto)
    changed |= joined
    still_sharing = (
        await keys.users_sharing_rooms(q, viewer, sorted(departed)) if departed else set()
    )
    left = departed - still_sharing - {viewer}
    return sorted(changed - left), sorted(left)
