"""The `account_data` extension (MSC3959): global and per-room account data.

`global` is what /sync puts in its top-level `account_data` (all of it on a connection's first
request, with the push rules as they are now; then what changed after the previous `pos`).
`rooms` holds the room account data (tags, read markers, ...) of the rooms the extension's
`lists`/`rooms` select in this response: what changed since the previous `pos` for rooms that
were in the previous response too, all of it for rooms that entered the response now (what
changed while a room was out of it was never sent). Never data of a room outside the response.
One query, whatever the number of rooms: the user's account data changed in the window (or all
of it, when a room entered).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.json_types import JsonObject
from bastion.services.sliding_sync.extensions.base import (
    ExtensionContext,
    ExtensionResult,
)
from bastion.services.sliding_sync.extensions.requests import (
    RoomSelection,
    ScopedRequest,
    parse_request,
    select_rooms,
)
from bastion.services.sync.service import PushStreams
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore
from bastion.store.records import AccountDataRecord


class AccountDataExtension:
    """The user's global account data and the selected rooms' account data."""

    name = "account_data"

    def __init__(self, db: Database, store: AccountDataStore, push: PushStreams) -> None:
        self._db = db
        self._store = store
        self._push = push

    async def build(
        self, context: ExtensionContext, request: Mapping[str, Any]
    ) -> ExtensionResult | None:
        """`{global, rooms}`, or None when nothing changed."""
        selection = select_rooms(context, parse_request(self.name, request, ScopedRequest))
        if context.news is not None and not context.news.account_data and not selection.entered:
            return None  # nothing changed in the window, and no room needs all of its data
        since = context.since or 0
        user_id = context.requester.user_id
        records = await self._store.changed_after(
            self._db, user_id, after=0 if selection.entered else since, upto=context.upto
        )
        global_events = await self._push.global_account_data(
            user_id,
            [r for r in records if r.stream_id > since],
            initial=context.since is None,
            wanted=lambda _: True,
        )
        rooms = _room_events(records, selection, since)
        if not global_events and not rooms:
            return None
        return ExtensionResult({"global": global_events, "rooms": rooms}, news=True)


def _room_events(
    records: list[AccountDataRecord], selection: RoomSelection, since: int
) -> dict[str, list[JsonObject]]:
    """room_id -> its account data events: entered rooms all, staying rooms what changed."""
    by_room: dict[str, list[JsonObject]] = {}
    for record in records:
        room_id = record.room_id
        if room_id in selection.entered or (
            room_id in selection.staying and record.stream_id > since
        ):
            by_room.setdefault(room_id, []).append({"type": record.type, "content": record.content})
    return by_room
