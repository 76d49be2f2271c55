"""Account suspension (spec: client-server-api#account-suspension): an admin stops an account
from acting in rooms, reversibly, while it can still sign in, read, leave and look after its
encryption keys; for an investigation, say, where locking would log the person out and
deactivating would be final.

What a suspended account may not do, each answered 403 M_USER_SUSPENDED (the spec's recommended
set): send any room event (messages, state, reactions), join, knock, invite or accept an
invite, create or upgrade a room, redact someone else's event, change its display name or
avatar. What it still may: everything that reads, leave a room or reject an invite, redact its
own events, join its server notices room (the admins' channel to it, where the spec recommends
letting it act), sign in and out, verify devices, cross-sign, use key backup, send to-device
messages, typing and receipts.

One door: the room events go through the event pipeline, whose `check` phase asks
`SuspendedSenders` (every room event of every path, not a list of endpoints); the profile
service asks `Suspensions.require_active`. Which accounts are suspended is kept in memory per
process (one query, the first time) and dropped on every process when it changes
(`CacheInvalidated`), or when a process may have missed such a message (`DeliveryGap`).
Suspending and unsuspending are admin actions, audited (`user.suspend`, `user.unsuspend`).
"""

from __future__ import annotations

from typing_extensions import override

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.types import EventType
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated
from bastion.services.audit.trail import AuditTrail
from bastion.services.event_hooks import EventHook
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols import EventStore, UserStore
from bastion.store.protocols.server_notices import ServerNoticeRoomStore

SUSPENSIONS_CACHE = "suspensions"


def suspended() -> MatrixError:
    """The spec's answer to an action a suspended account may not take."""
    return MatrixError(
        403, Errcode.USER_SUSPENDED, "You cannot perform this action while suspended."
    )


class Suspensions:
    """Which accounts are suspended, and suspending them."""

    def __init__(self, db: Database, users: UserStore, bus: Bus, audit: AuditTrail) -> None:
        self._db = db
        self._users = users
        self._bus = bus
        self._audit = audit
        self._suspended: frozenset[str] | None = None  # None: to be read again

    def invalidate(self, _key: str = "") -> None:
        """Drop what is known (a suspension changed, here or in another process)."""
        self._suspended = None

    async def is_suspended(self, user_id: str) -> bool:
        """Whether `user_id` is suspended now (no query once the set is known)."""
        known = self._suspended
        if known is None:
            known = self._suspended = frozenset(await self._users.suspended_users(self._db))
        return user_id in known

    async def require_active(self, user_id: str) -> None:
        """403 M_USER_SUSPENDED for a suspended account."""
        if await self.is_suspended(user_id):
            raise suspended()

    async def set_suspended(self, actor: Principal, user_id: str, suspend: bool) -> bool:
        """Suspend or unsuspend a (checked, local, active) account; whether it is suspended."""
        actor.require_admin()
        action = "user.suspend" if suspend else "user.unsuspend"
        async with self._audit.attempt(actor, action, user_id):
            user = await self._users.get_user(self._db, user_id)
            if user is None or user.is_deactivated:
                raise MatrixError(404, Errcode.NOT_FOUND, f"no active account {user_id}")
            if user.suspended != suspend:
                async with self._db.transaction() as t:
                    await self._users.set_suspended(t, user_id, suspend)
                    await self._audit.record(t, actor, action, user_id)
        self.invalidate()
        self._bus.publish(CacheInvalidated(SUSPENSIONS_CACHE, user_id))
        return suspend


class SuspendedSenders(EventHook):
    """The pipeline's check: a suspended account's room events are refused but for leaving,
    redacting its own events and writing to its server notices room."""

    def __init__(
        self,
        db: Database,
        suspensions: Suspensions,
        events: EventStore,
        notices: ServerNoticeRoomStore,
    ) -> None:
        self._db = db
        self._suspensions = suspensions
        self._events = events
        self._notices = notices

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> EventDraft | None:
        sender = draft.sender
        if not await self._suspensions.is_suspended(sender):
            return None
        own_member = draft.type == EventType.MEMBER and draft.state_key == sender
        if own_member and draft.content.get("membership") == "leave":
            return None  # leaving, or rejecting an invite
        if draft.type == EventType.REDACTION and room_id is not None:
            target = draft.content.get("redacts")
            found = None
            if isinstance(target, str):
                found = await self._events.get_event(self._db, target)
            if found is not None and found.sender == sender:
                return None  # one's own event
        if room_id is not None and await self._notices.get_room(self._db, sender) == room_id:
            return None  # the admins' channel to the account (joining it, answering)
        raise suspended()
