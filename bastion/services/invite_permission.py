"""Invite blocking (spec v1.18, client-server-api#invite-permission): a user whose global
account data `m.invite_permission_config` has `default_action: "block"` receives no invites.

- Sending: an invite to such a local user is refused with 403 `M_INVITE_BLOCKED`, whichever
  endpoint makes it (`/invite`, `PUT /state/m.room.member/{userId}`, `createRoom`'s `invite`):
  `InviteBlocking` is an event hook, so its check runs on every invite the pipeline would write.
  `createRoom` checks all its events before writing any, so a blocked invitee refuses the whole
  creation and nothing is created (the client can ask again without them), rather than a room
  made with an invitee silently missing.
- Reading: invites already received are not shown by /sync or sliding sync while invites are
  blocked (`VisibilityService.hides_invite`, the read door); shown again once unblocked. Other
  reads (room state) and application services see them as usual, as the spec says.
- Exempt: the server's own accounts (`exempt`: the server-notices sender). Invites the server
  itself sends carry notices the organisation must be able to deliver; they are not a person's.
  Exempt too: the invitation that is one step of the organisation putting someone in a room
  (an admin's join, a SCIM group's rooms: services/rooms/room_entry.py, inside
  `organisation_entry()`), which the person's own join follows at once.
  Not exempt: an invite a room member sends on an admin's behalf that the person must accept
  (the admin API's room-admin promotion, an offboarding's successor who is not yet a member):
  it is refused like any, the promotion fails with `M_INVITE_BLOCKED`, and an offboarding names
  the room in `rooms_without_successor` (the admin API's join still works). A room upgrade
  skips such a member's invite to the new room, as it skips any invite that is refused.

"A missing, invalid or unsupported value means that the user wants to receive invites as
normal": any content is accepted when stored, and only exactly `"block"` blocks. The setting is
read once per user and kept in memory, as the ignored-user lists are (user_cache.py): it is an
account data kind, so after a change commits every process drops the entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from typing_extensions import override

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.types import EventType
from bastion.services.event_hooks import EventHook
from bastion.services.user_cache import PerUserCache
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore

INVITE_PERMISSION_CONFIG = "m.invite_permission_config"
MAX_CACHED_USERS = 100_000


class InvitePermissions:
    """Whether a user blocks invites (cached: user_cache.py), and from whom it does not count."""

    data_type = INVITE_PERMISSION_CONFIG

    def __init__(
        self,
        db: Database,
        store: AccountDataStore,
        exempt: frozenset[str] = frozenset(),
        *,
        max_users: int = MAX_CACHED_USERS,
    ) -> None:
        self._db = db
        self._store = store
        self._exempt = exempt
        self._cache: PerUserCache[bool] = PerUserCache(max_users)
        self.invalidate = self._cache.invalidate  # the bus's CacheInvalidated (app/wiring.py)
        self.clear = self._cache.clear

    def exempt(self, sender: str) -> bool:
        """An invite from the server's own account is never blocked (module docstring)."""
        return sender in self._exempt

    async def blocks_invites(self, user_id: str) -> bool:
        """True when the user's `m.invite_permission_config` says `default_action: block`."""
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        stamp = self._cache.stamp()
        content = await self._store.get(self._db, user_id, "", INVITE_PERMISSION_CONFIG)
        blocks = content is not None and content.get("default_action") == "block"
        self._cache.keep(stamp, user_id, blocks)
        return blocks

    def check(self, owner: str, content: dict[str, Any]) -> None:
        """Any content may be stored: what is not `block` takes invites as normal."""


_ORGANISATION_ENTRY: ContextVar[bool] = ContextVar("organisation_entry", default=False)


@contextmanager
def organisation_entry() -> Iterator[None]:
    """Invites written inside this block (same task) are a step of the organisation putting
    someone in a room, not a person's invitation: invite blocking passes them."""
    token = _ORGANISATION_ENTRY.set(True)
    try:
        yield
    finally:
        _ORGANISATION_ENTRY.reset(token)


class InviteBlocking(EventHook):
    """Refuses an invite to a user who blocks invites (403 M_INVITE_BLOCKED)."""

    def __init__(self, permissions: InvitePermissions) -> None:
        self._permissions = permissions

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> EventDraft | None:
        if draft.type != EventType.MEMBER or draft.content.get("membership") != "invite":
            return None
        invitee = draft.state_key
        if invitee is None or self._permissions.exempt(draft.sender):
            return None
        if _ORGANISATION_ENTRY.get():
            return None
        if await self._permissions.blocks_invites(invitee):
            raise MatrixError(403, Errcode.INVITE_BLOCKED, f"{invitee} does not accept invites")
        return None
