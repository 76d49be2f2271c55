"""The long-poll loop /sync and sliding sync share: build, and if there is nothing new, wait on
the bus-fed `SyncWaits` for something that concerns the user, then build again.

Revoking a user's sessions (offboarding publishes `SessionsRevoked`; so does an admin's lock,
which keeps them but refuses them) wakes their parked polls, which then check their device still
exists and end with 401 M_UNKNOWN_TOKEN (M_USER_LOCKED for a locked account). A poll reads its
session once before it first parks, and again only after a revocation, never on an ordinary
wake-up. The first read is skipped when the caller read `revocations_mark()` before the request's
token was checked and the mark has not moved since: the token check (a read after the mark) found
the session, and a revocation committed after that read is heard after the mark, so it moves
the mark (and the user's serial, which wakes the parked poll to check again).

Each build is given the stream position it may read up to (`persisted_upto`) and the
typing serial it has seen, and the wait starts after both, so nothing that lands during a build
is missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bastion.errors import Errcode, MatrixError
from bastion.pubsub.base import SyncWaits
from bastion.services.credentials import account_locked, refuse_unusable
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import DeviceStore, UserStore
from bastion.store.stream import PositionAllocator

T = TypeVar("T")

# build(upto, typing_serial) -> (response, whether it holds anything new)
Build = Callable[[int, int], Awaitable[tuple[T, bool]]]


class TypingSerial(Protocol):
    """The typing stream's serial (services/ephemeral/typing.py)."""

    serial: int


class LongPoll:
    """Runs one poll: build until there is news, the timeout passes, or the session ends."""

    def __init__(
        self,
        db: Database,
        stores: tuple[DeviceStore, UserStore],
        positions: PositionAllocator,
        waits: SyncWaits,
        typing: TypingSerial,
    ) -> None:
        self._db = db
        self._devices, self._users = stores
        self._positions = positions
        self._waits = waits
        self._typing = typing

    def revocations_mark(self) -> int:
        """Read before authenticating a request, then passed to `run` as `authenticated_at`."""
        return self._waits.revocations_total()

    async def run(
        self,
        requester: Requester,
        build: Build[T],
        *,
        timeout_ms: int,
        wait: bool,
        authenticated_at: int | None = None,
        peeking: str | None = None,
    ) -> T:
        """The first response with news, or the last one once `timeout_ms` has passed (at
        once when `wait` is False). `authenticated_at`: `revocations_mark()` as read before
        the requester's token was checked (None: unknown, so the session is read again).
        `peeking`: a room whose new events wake the poll though the requester is not in it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        revoked_seen: int | None = None
        while True:
            upto = self._positions.persisted_upto()
            typing_seen = self._typing.serial
            response, changed = await build(upto, typing_seen)
            if not wait or changed:
                return response
            remaining = deadline - loop.time()
            if revoked_seen is None:
                revoked_seen = self._waits.revocation_serial(requester.user_id)
                if authenticated_at is None or authenticated_at != self.revocations_mark():
                    await self._require_session(requester)
            woken = await self._waits.wait(
                requester.user_id, upto, remaining, after_ephemeral=typing_seen,
                after_revocation=revoked_seen, room_id=peeking,
            )  # fmt: skip
            revoked_now = self._waits.revocation_serial(requester.user_id)
            if revoked_now != revoked_seen:
                await self._require_session(requester)
                revoked_seen = revoked_now
            if remaining <= 0 or not woken:
                return response

    async def _require_session(self, requester: Requester) -> None:
        """401 M_UNKNOWN_TOKEN once the requester's device (so its token) is gone: a poll
        parked for a user whose sessions were revoked (offboarding) must not answer 200. An
        application service acting as a user without a device has no session of the user's
        to lose: its poll ends with the refusal the service's next request would get, once
        the account is deactivated (403) or locked (401), both of which revoke the sessions."""
        if requester.appservice is not None and not requester.device_id:
            user = await self._users.get_user(self._db, requester.user_id)
            if user is not None:  # always: the service's identity check found it, none is deleted
                refuse_unusable(user)
            return
        if requester.token_hash is not None:  # the token itself: a kept device may have a new one
            owner = await self._devices.find_token_owner(self._db, requester.token_hash)
            gone = owner is None or owner.is_deactivated
            if not gone and owner is not None and owner.admin_locked:
                raise account_locked()  # as the session's next request: kept but refused
        else:
            gone = (
                await self._devices.get_device(self._db, requester.user_id, requester.device_id)
                is None
            )
        if gone:
            raise MatrixError(
                401, Errcode.UNKNOWN_TOKEN, "Unknown access token", {"soft_logout": False}
            )
