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

"A missing, invalid or unsupported value means that the user wants to receive invites as
normal": any content is accepted when stored, and only exactly `"block"` blocks. The setting is
read from the database when an invite is written or an invite would be shown (no cache: both
are rare next to what the read door does), so a change applies at once in every process.
"""

from __future__ import annotations

from typing_extensions import override

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.types import EventType
from bastion.services.event_hooks import EventHook
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore

INVITE_PERMISSION_CONFIG = "m.invite_permission_config"


class InvitePermissions:
    """Whether a user blocks invites, and from whom it does not count."""

    def __init__(
        self, db: Database, store: AccountDataStore, exempt: frozenset[str] = frozenset()
    ) -> None:
        self._db = db
        self._store = store
        self._exempt = exempt

    def exempt(self, sender: str) -> bool:
        """An invite from the server's own account is never blocked (module docstring)."""
        return sender in self._exempt

    async def blocks_invites(self, user_id: str) -> bool:
        """True when the user's `m.invite_permission_config` says `default_action: block`."""
        content = await self._store.get(self._db, user_id, "", INVITE_PERMISSION_CONFIG)
        return content is not None and content.get("default_action") == "block"


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
        if await self._permissions.blocks_invites(invitee):
            raise MatrixError(403, Errcode.INVITE_BLOCKED, f"{invitee} does not accept invites")
        return None
