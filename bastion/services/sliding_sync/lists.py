"""The rooms of a sliding-sync request's lists: which of the user's rooms each list holds, in
which order, and which of them its ranges select (MSC4186 "Lists").

The user's rooms are their joined, invited and knocked rooms, the rooms they were kicked or
banned from after having joined (always, MSC4186: "Rooms the user has been kicked or banned from
will always be included in the server list"; "rooms the user has been banned from, but never
joined, should not be part of the list"), plus the rooms left since the connection's previous
response (they appear once, so the client learns of it; Synapse does the same); forgotten rooms
never. Filters: `is_dm` (the `m.direct` account data),
`is_encrypted` (an `m.room.encryption` state event), `is_invite`, `room_types` /
`not_room_types` (the create event's `type`, null for none; `not_room_types` wins), `tags` /
`not_tags` (the `m.tag` room account data; `not_tags` wins, as Synapse), `spaces`
(rooms named by an `m.space.child` with a non-empty `via` in one of the given spaces the user
has joined; subspaces are not walked). Lists are sorted by `bump_stamp`, newest first.

Cost: a fixed number of queries whatever the number of rooms (the memberships, the bump
stamps, the kicks and bans when the user has left rooms, and only when a list asks for them
`m.direct`, the tags, the create/encryption state and the spaces' children), never one per room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from bastion.services.sliding_sync.request import ListFilters, ListRequest
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore
from bastion.store.protocols.sliding_sync import SlidingSyncStore
from bastion.store.records import MembershipRecord

CREATE = "m.room.create"
ENCRYPTION = "m.room.encryption"
SPACE_CHILD = "m.space.child"
DIRECT = "m.direct"
LISTED = ("join", "invite", "knock")
LEFT = ("leave", "ban")

BumpStamps = Callable[[Sequence[str]], Awaitable[dict[str, int]]]


class _Content(msgspec.Struct):
    content: dict[str, Any] = {}


_pdu = msgspec.json.Decoder(_Content)


@dataclass(frozen=True, slots=True)
class ListResult:
    """One list: how many rooms pass its filters, and the rooms each of its ranges selects."""

    count: int
    ranges: tuple[tuple[tuple[int, int], list[str]], ...]  # ((start, end), room_ids)

    def room_ids(self) -> list[str]:
        """Every room in the list's ranges, each once, in list order (not to be modified)."""
        if len(self.ranges) == 1:
            return self.ranges[0][1]
        seen: dict[str, None] = {}
        for _, room_ids in self.ranges:
            seen.update(dict.fromkeys(room_ids))
        return list(seen)


def listed_rooms(
    records: Sequence[MembershipRecord], since: int | None, removed: set[str]
) -> list[MembershipRecord]:
    """The memberships the lists draw from: current ones, kicks and bans (`removed`), and
    leaves after `since`."""
    return [
        r
        for r in records
        if not r.forgotten
        and (
            r.membership in LISTED
            or r.room_id in removed
            or (r.membership == "leave" and since is not None and r.stream_ordering > since)
        )
    ]


class _Facts:
    """Facts about the user's rooms, each read at most once per request, for all rooms."""

    def __init__(
        self,
        db: Database,
        store: SlidingSyncStore,
        account_data: AccountDataStore,
        user_id: str,
        records: Mapping[str, MembershipRecord],
    ) -> None:
        self._db, self._store, self._account_data = db, store, account_data
        self._user_id, self._records = user_id, records
        self._direct: set[str] | None = None
        self._kinds: dict[str, tuple[str | None, bool]] | None = None
        self._children: dict[tuple[str, ...], set[str]] = {}
        self._tags: dict[str, set[str]] | None = None

    async def tags(self) -> dict[str, set[str]]:
        """room_id -> the names of the user's tags on it (`m.tag` room account data)."""
        if self._tags is None:
            self._tags = await self._store.room_tags(self._db, self._user_id)
        return self._tags

    async def direct(self) -> set[str]:
        if self._direct is None:
            content = await self._account_data.get(self._db, self._user_id, "", DIRECT) or {}
            self._direct = {
                room_id
                for room_ids in content.values()
                if isinstance(room_ids, list)
                for room_id in room_ids
                if isinstance(room_id, str)
            }
        return self._direct

    async def kinds(self) -> dict[str, tuple[str | None, bool]]:
        """room_id -> (room type, is encrypted)."""
        if self._kinds is None:
            entries = await self._store.state_entries(
                self._db, list(self._records), [CREATE, ENCRYPTION]
            )
            kinds: dict[str, tuple[str | None, bool]] = {}
            for entry in entries:
                room_type, encrypted = kinds.get(entry.room_id, (None, False))
                if entry.type == ENCRYPTION:
                    encrypted = True
                elif entry.state_key == "":
                    declared = _pdu.decode(entry.pdu).content.get("type")
                    room_type = declared if isinstance(declared, str) else None
                kinds[entry.room_id] = (room_type, encrypted)
            self._kinds = kinds
        return self._kinds

    async def child_rooms(self, spaces: tuple[str, ...]) -> set[str]:
        """Rooms an `m.space.child` (with a `via`) names in the given spaces the user joined."""
        if spaces not in self._children:
            joined = [s for s in spaces if (r := self._records.get(s)) and r.membership == "join"]
            entries = await self._store.state_entries(self._db, joined, [SPACE_CHILD])
            self._children[spaces] = {
                e.state_key for e in entries if _pdu.decode(e.pdu).content.get("via")
            }
        return self._children[spaces]


async def _passes(f: ListFilters, record: MembershipRecord, facts: _Facts) -> bool:
    room_id = record.room_id
    if f.is_invite is not None and (record.membership == "invite") != f.is_invite:
        return False
    if f.is_dm is not None and (room_id in await facts.direct()) != f.is_dm:
        return False
    if (
        f.is_encrypted is not None or f.room_types is not None or f.not_room_types
    ) and not _kind_passes(f, *(await facts.kinds()).get(room_id, (None, False))):
        return False
    if (f.tags is not None or f.not_tags) and not _tags_pass(
        f, (await facts.tags()).get(room_id, set())
    ):
        return False
    return f.spaces is None or room_id in await facts.child_rooms(f.spaces)


def _kind_passes(f: ListFilters, room_type: str | None, encrypted: bool) -> bool:
    if f.is_encrypted is not None and encrypted != f.is_encrypted:
        return False
    if room_type in f.not_room_types:
        return False
    return f.room_types is None or room_type in f.room_types


def _tags_pass(f: ListFilters, tags: set[str]) -> bool:
    """`not_tags` "Takes priority over `tags`"; `tags`: "a room can have any one of the listed
    tags (OR'd)"."""
    if tags.intersection(f.not_tags):
        return False
    return f.tags is None or bool(tags.intersection(f.tags))


class RoomLists:
    """Builds every list of a request from one read of the user's rooms."""

    def __init__(
        self, db: Database, store: SlidingSyncStore, account_data: AccountDataStore
    ) -> None:
        self._db = db
        self._store = store
        self._account_data = account_data

    async def listed(
        self, user_id: str, records: Sequence[MembershipRecord], since: int | None
    ) -> tuple[list[MembershipRecord], list[str]]:
        """`listed_rooms` of the user's memberships, and those of them listed only for now
        (left after `since`: the next response leaves them out). One query for the kicks and
        bans among them, none when the user has no leave or ban."""
        ended = [r.room_id for r in records if r.membership in LEFT and not r.forgotten]
        removed = await self._store.removed_by_others(self._db, user_id, ended)
        listed = listed_rooms(records, since, removed)
        once = [r.room_id for r in listed if r.membership in LEFT and r.room_id not in removed]
        return listed, once

    async def build(
        self,
        user_id: str,
        lists: Mapping[str, ListRequest],
        records: Sequence[MembershipRecord],
        bump_stamps: BumpStamps,
    ) -> tuple[list[tuple[str, int]], dict[str, list[str] | None]]:
        """Every listed room (room_id, bump stamp), newest first; per list, the rooms passing
        its filters (None: a list without filters, every room). order.py makes the lists."""
        if not lists:
            return [], {}
        by_room = {r.room_id: r for r in records}
        stamps = await bump_stamps(list(by_room))
        ordered = sorted(
            ((room_id, stamps.get(room_id, 0)) for room_id in by_room),
            key=lambda e: (-e[1], e[0]),
        )
        return ordered, await self.passing(user_id, lists, records)

    async def passing(
        self,
        user_id: str,
        lists: Mapping[str, ListRequest],
        records: Sequence[MembershipRecord],
    ) -> dict[str, list[str] | None]:
        """Per list, which of `records`' rooms pass its filters (None: no filters)."""
        by_room = {r.room_id: r for r in records}
        facts = _Facts(self._db, self._store, self._account_data, user_id, by_room)
        out: dict[str, list[str] | None] = {}
        for name, wanted in lists.items():
            if wanted.filters == ListFilters():
                out[name] = None
                continue
            out[name] = [r.room_id for r in records if await _passes(wanted.filters, r, facts)]
        return out
