"""A profile change reaches the rooms: a new `m.room.member` join event in each joined room.

spec: client-server-api#events-on-change-of-profile-information: "an m.room.member event (with a
join membership) is sent to every room the user is a member of, to update the displayname and
avatar_url". Each event copies the current member event's content with the profile's
`displayname` and `avatar_url` (absent when unset), through the one pipeline, so members see it in
/sync like any membership change.

Invariants:
- Runs after the profile change has committed, outside any transaction. Each room's event is its
  own `pipeline.send`, so a room that refuses it (auth rules, a room being deleted) is logged and
  skipped: the other rooms and the profile change itself stand.
- One update at a time per user (a per-user lock), each reading the profile afresh once it holds
  the lock, so whichever finishes last carries the newest profile into every room.
- The new event must replace exactly the member event it was built from (`replaces`, a
  compare-and-set in the pipeline): a user who left or was kicked meanwhile is never joined again.
- Rooms whose member event already shows the profile get nothing (setting a name twice sends one
  event per room); rooms are handled BATCH_SIZE at a time, yielding to the event loop in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bastion.errors import MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.types import EventType, Membership
from bastion.services.keyed_locks import KeyedLocks
from bastion.services.rooms.pipeline import EventPipeline, StateChangedError
from bastion.store.database import Database
from bastion.store.protocols import EventStore, MembershipStore, ProfileStore
from bastion.store.records import MembershipRecord, ProfileRecord

log = logging.getLogger(__name__)

BATCH_SIZE = 50
# They describe the change the old event made (why, who authorised a restricted join), not this one.
_NOT_CARRIED = ("reason", "join_authorised_via_users_server")


class MemberProfileUpdater:
    """Sends a user's current profile into the member events of the rooms they are joined to."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        *,
        profiles: ProfileStore,
        memberships: MembershipStore,
        events: EventStore,
    ) -> None:
        self._db = db
        self._pipeline = pipeline
        self._profiles = profiles
        self._memberships = memberships
        self._events = events
        self._locks = KeyedLocks()
        self._running: set[asyncio.Task[None]] = set()  # strong references until each ends

    async def profile_changed(self, user_id: str) -> None:
        """Bring every joined room's member event of `user_id` up to date with their profile.

        The work runs in a task of its own that the caller waits for: a client that hangs up
        (cancelling its request) does not leave half the rooms with the old profile.
        """
        task = asyncio.create_task(self._update(user_id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        await asyncio.shield(task)

    async def _update(self, user_id: str) -> None:
        async with self._locks.lock(user_id):
            profile = await self._profiles.get_profile(self._db, user_id)
            profile = profile or ProfileRecord(displayname=None, avatar_url=None)
            joined = await self._memberships.rooms_of_user(self._db, user_id, [Membership.JOIN])
            for start in range(0, len(joined), BATCH_SIZE):
                await self._update_rooms(user_id, profile, joined[start : start + BATCH_SIZE])
                await asyncio.sleep(0)  # let other requests run between batches

    async def _update_rooms(
        self, user_id: str, profile: ProfileRecord, batch: Sequence[MembershipRecord]
    ) -> None:
        current = await self._events.get_events(self._db, [m.event_id for m in batch])
        for membership in batch:
            event = current.get(membership.event_id)
            if event is None or _shows(event, profile):
                continue
            draft = EventDraft(EventType.MEMBER, user_id, _content(event, profile), user_id)
            await self._send(membership.room_id, draft, event.event_id)

    async def _send(self, room_id: str, draft: EventDraft, replaces: str) -> None:
        try:
            await self._pipeline.send(room_id, draft, replaces=replaces)
        except StateChangedError:
            # The membership changed since it was read: that change's event carried the profile
            # if it was a join; otherwise the user is no longer there to update.
            log.debug("membership of %s in %s changed; profile not sent", draft.sender, room_id)
        except MatrixError as exc:
            log.warning(
                "profile of %s not sent to %s: %s %s", draft.sender, room_id, exc.errcode, exc
            )
        except Exception:
            # One room's failure must not stop the others nor fail the profile change.
            log.exception("profile of %s not sent to %s", draft.sender, room_id)


def _shows(event: StoredEvent, profile: ProfileRecord) -> bool:
    return (
        event.content.get("displayname") == profile.displayname
        and event.content.get("avatar_url") == profile.avatar_url
    )


def _content(event: StoredEvent, profile: ProfileRecord) -> dict[str, Any]:
    content = {
        k: v
        for k, v in event.content.items()
        if k not in ("displayname", "avatar_url", *_NOT_CARRIED)
    }
    content["membership"] = Membership.JOIN
    if profile.displayname is not None:
        content["displayname"] = profile.displayname
    if profile.avatar_url is not None:
        content["avatar_url"] = profile.avatar_url
    return content
