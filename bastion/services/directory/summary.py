"""`GET /_matrix/client/v1/room_summary/{roomIdOrAlias}`: previews of rooms
(spec: client-server-api#get_matrixclientv1room_summaryroomidoralias).

Who may preview a room: a member who is joined, invited or knocking, anyone for a room whose
join rule is `public`, `knock` or `knock_restricted` or whose history is `world_readable`, and,
for a `restricted` room, a member of one of the rooms its join rule allows (who could join it:
what /hierarchy shows them too; the summary lists those rooms in `allowed_room_ids`). Any
other room answers exactly as a room that does not exist (404 M_NOT_FOUND, same message), so a
preview never confirms that a private room exists. Without an access token (allowed only when
`directory.public_rooms_require_auth` is off) only the second kind can be previewed and the
response has no `membership`. `via` is ignored: there is no federation to ask.
"""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.events.types import JoinRule, Membership
from bastion.services.directory.room_info import DESCRIBING_TYPES, RoomSummary, describe
from bastion.services.directory.rooms import DirectoryAccess, require_reader
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, RoomDirectoryStore, RoomStore

_MEMBER_PREVIEW = frozenset({Membership.JOIN, Membership.INVITE, Membership.KNOCK})
_OPEN_JOIN_RULES = frozenset({JoinRule.PUBLIC, JoinRule.KNOCK, JoinRule.KNOCK_RESTRICTED})


class RoomSummaryService:
    """Previews of rooms."""

    def __init__(
        self,
        db: Database,
        access: DirectoryAccess,
        *,
        rooms: RoomStore,
        directory: RoomDirectoryStore,
        memberships: MembershipStore,
    ) -> None:
        self._db = db
        self._access = access
        self._rooms = rooms
        self._directory = directory
        self._memberships = memberships

    async def summary(self, requester: Requester | None, room_id_or_alias: str) -> RoomSummary:
        """The summary, or 404 M_NOT_FOUND when the room is unknown or not previewable."""
        require_reader(requester, self._access)
        not_found = MatrixError(404, Errcode.NOT_FOUND, f"room {room_id_or_alias} not found")
        room_id = await self._resolve(room_id_or_alias, not_found)
        if await self._rooms.get_room(self._db, room_id) is None:
            raise not_found
        membership: str | None = None
        if requester is not None:
            record = await self._memberships.get_membership(self._db, requester.user_id, room_id)
            membership = record.membership if record is not None else Membership.LEAVE
        counts = await self._memberships.member_counts(self._db, [room_id])
        state = await self._directory.current_state_of_rooms(self._db, [room_id], DESCRIBING_TYPES)
        description = describe(room_id, state, counts.get(room_id, {}).get(Membership.JOIN, 0))
        entry = description.entry
        if not (
            membership in _MEMBER_PREVIEW
            or entry.join_rule in _OPEN_JOIN_RULES
            or entry.world_readable
            or await self._may_join_through(requester, description.allowed_room_ids)
        ):
            raise not_found
        return description.summary(membership)

    async def _may_join_through(self, requester: Requester | None, allowed: list[str]) -> bool:
        """Is the requester joined to one of a restricted room's allowed rooms?"""
        if requester is None:
            return False
        for room_id in allowed:
            record = await self._memberships.get_membership(self._db, requester.user_id, room_id)
            if record is not None and record.membership == Membership.JOIN:
                return True
        return False

    async def _resolve(self, room_id_or_alias: str, not_found: MatrixError) -> str:
        if room_id_or_alias.startswith("#"):
            found = await self._rooms.get_alias(self._db, room_id_or_alias)
            if found is None:
                raise not_found
            return found[0]
        if not room_id_or_alias.startswith("!"):
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"{room_id_or_alias!r} is not a room ID or alias"
            )
        return room_id_or_alias
