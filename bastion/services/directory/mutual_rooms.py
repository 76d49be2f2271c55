"""`GET /_matrix/client/v1/mutual_rooms` (MSC2666): the rooms the requester and another user
are both joined to, in room ID order, a page at a time.

Nothing is revealed that the requester cannot already see: only rooms the requester is joined
to are listed. An unknown (well-formed) user shares no room: an empty list, as the spec asks. The
`from` token is the last room ID of the previous page (opaque to clients), so pages stay right
when rooms are joined or left between them.
"""

from __future__ import annotations

import base64
import binascii

from bastion.errors import Errcode, MatrixError
from bastion.events.types import Membership
from bastion.ids import is_valid_user_id
from bastion.json_types import JsonObject
from bastion.services.principal import Requester
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore

PAGE_SIZE = 100


class MutualRoomsService:
    """Rooms two users share."""

    def __init__(self, db: Database, memberships: MembershipStore) -> None:
        self._db = db
        self._memberships = memberships

    async def mutual_rooms(
        self, requester: Requester, user_id: str | None, from_token: str | None
    ) -> JsonObject:
        """One page: `joined`, `count` (all of them) and `next_batch` when more follow."""
        if user_id is None or not is_valid_user_id(user_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, "user_id must be a valid user ID")
        if user_id == requester.user_id:
            raise MatrixError(400, Errcode.INVALID_PARAM, "user_id must be another user's ID")
        after = _decode(from_token) if from_token is not None else ""
        mine = await self._joined(requester.user_id)
        shared = sorted(mine & await self._joined(user_id))
        page = [room_id for room_id in shared if room_id > after][:PAGE_SIZE]
        out: JsonObject = {"joined": page, "count": len(shared)}
        if page and page[-1] != shared[-1]:
            out["next_batch"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return out

    async def _joined(self, user_id: str) -> set[str]:
        records = await self._memberships.rooms_of_user(self._db, user_id, [Membership.JOIN])
        return {r.room_id for r in records}


def _decode(token: str) -> str:
    try:
        room_id = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError):
        room_id = ""
    if not room_id.startswith("!"):
        raise MatrixError(400, Errcode.INVALID_PARAM, "unknown from token")
    return room_id
