"""Room previews (spec: client-server-api#room-previews): `GET /rooms/{roomId}/initialSync` and
`GET /events?room_id=`.

A client shows a room before its user joins it (matrix-js-sdk's `peekInRoom`, what Element Web
does for a world-readable room opened from a link) with a snapshot of the room, then a long poll
of its new events. Both read through the visibility door (services/visibility.py) exactly as
/messages does: someone who never joined sees only what was sent while the history was
`world_readable`, someone who left sees up to their leave, a member sees what /sync shows, and
anyone else gets 403. The poll is the long-poll loop of /sync (services/long_poll.py), woken by
the room's events although the user is not in the room, and ended like /sync when the user's
sessions are revoked.
"""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.events.filters import effective_limit
from bastion.json_types import JsonObject
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.long_poll import LongPoll
from bastion.services.principal import Requester
from bastion.services.stream_token import format_token, parse_token
from bastion.services.sync.request import MAX_TIMEOUT_MS
from bastion.services.visibility import RoomAccess, Span, VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore, RoomDirectoryStore
from bastion.store.stream import PositionAllocator

# Events one `/events` answer carries at most; a client asks again at once for the rest.
EVENTS_PER_POLL = 100
# The default wait of `/events` when the client names none (what Synapse waits).
DEFAULT_POLL_MS = 30_000
INITIAL_SYNC_LIMIT = 10


class RoomPeeking:
    """A room's snapshot and its new events, for members and for lurkers alike."""

    def __init__(
        self,
        db: Database,
        visibility: VisibilityService,
        formatter: EventFormatter,
        positions: PositionAllocator,
        long_poll: LongPoll,
        *,
        account_data: AccountDataStore,
        directory: RoomDirectoryStore,
    ) -> None:
        self._db = db
        self._visibility = visibility
        self._formatter = formatter
        self._positions = positions
        self._long_poll = long_poll
        self._account_data = account_data
        self._directory = directory

    async def initial_sync(
        self, requester: Requester, room_id: str, limit: int | None
    ) -> JsonObject:
        """`GET /rooms/{roomId}/initialSync`: the room's state and newest events as the
        requester may see them (as when they left, for a former member), their membership,
        the room's account data of theirs and whether the room is published.

        `messages.end` is where `GET /events` goes on from; `messages.start` is a /messages
        token before the oldest event given."""
        access = await self._access(requester, room_id)
        if not access.can_read_state:
            raise MatrixError(403, Errcode.FORBIDDEN, "join the room to read it")
        ceiling = access.upto if access.upto is not None else self._positions.persisted_upto()
        span = Span(0, ceiling + 1, effective_limit(limit, INITIAL_SYNC_LIMIT), newest_first=True)
        page = await self._visibility.page(requester.user_id, access, room_id, span, None)
        messages: JsonObject = {
            "chunk": await self._formatter.format(page.visible[::-1], requester),
            "end": format_token(ceiling),
        }
        if page.fetched > 0 and page.oldest is not None:
            messages["start"] = format_token(page.oldest - 1)
        state = await self._visibility.state(access, room_id, at=access.upto)
        published = await self._directory.is_published(self._db, room_id)
        answer: JsonObject = {
            "room_id": room_id,
            "messages": messages,
            "state": await self._formatter.format(state, requester),
            "visibility": "public" if published else "private",
            "account_data": await self._room_account_data(requester.user_id, room_id),
        }
        if access.membership is not None:
            answer["membership"] = access.membership.membership
        return answer

    async def events(
        self,
        requester: Requester,
        room_id: str,
        from_token: str | None,
        timeout_ms: int,
        *,
        authenticated_at: int | None = None,
    ) -> JsonObject:
        """`GET /events?room_id=`: the room's events after `from_token` (after now when
        absent) the requester may see, waiting up to `timeout_ms` for one. `end` is the next
        `from`; events the requester may not see move it on without being shown."""
        start = (
            parse_token(from_token, name="from") if from_token else self._positions.persisted_upto()
        )
        start_token = from_token or format_token(start)
        cursor = start

        # The first build runs before any wait, so a refused requester gets 403 at once.
        async def build(upto: int, _typing: int) -> tuple[JsonObject, bool]:
            nonlocal cursor
            access = await self._access(requester, room_id)
            top = upto if access.upto is None else min(upto, access.upto)
            chunk: list[JsonObject] = []
            if top > cursor:
                span = Span(cursor, top + 1, EVENTS_PER_POLL, newest_first=False)
                page = await self._visibility.page(requester.user_id, access, room_id, span, None)
                newest = page.newest if page.fetched >= EVENTS_PER_POLL else None
                cursor = top if newest is None else newest  # a full page: the rest next time
                chunk = await self._formatter.format(page.visible, requester)
            answer: JsonObject = {"start": start_token, "end": format_token(cursor), "chunk": chunk}
            return answer, bool(chunk)

        return await self._long_poll.run(
            requester,
            build,
            timeout_ms=min(max(timeout_ms, 0), MAX_TIMEOUT_MS),
            wait=timeout_ms > 0,
            authenticated_at=authenticated_at,
            peeking=room_id,
        )

    def revocations_mark(self) -> int:
        """Read before the request's token is checked (services/long_poll.py)."""
        return self._long_poll.revocations_mark()

    async def _access(self, requester: Requester, room_id: str) -> RoomAccess:
        """What the requester may read of the room; 403 M_FORBIDDEN (unknown rooms too, so a
        lurker learns nothing of rooms they may not see)."""
        return await self._visibility.room_access(requester.user_id, room_id)

    async def _room_account_data(self, user_id: str, room_id: str) -> list[JsonObject]:
        """The requester's account data for this room (`m.tag` among it), as /sync gives it."""
        upto = self._positions.persisted_upto()
        entries = await self._account_data.changed_after(self._db, user_id, after=0, upto=upto)
        return [
            {"type": entry.type, "content": entry.content}
            for entry in entries
            if entry.room_id == room_id
        ]
