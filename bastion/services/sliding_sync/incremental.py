"""A woken request's plan from what changed since the previous response, not from every room
(issue 14: a woken request must cost in proportion to the rooms with news).

`incremental_plan` asks /sync's probe (one statement: the user's joined rooms with events in
(since, upto], and whether their memberships or account data moved; from the pos's `base`
instead of `since` at a pos answered without writing, connection.py), re-places the rooms with
events in the stored list order (order.py), and plans to build only the rooms in scope that had
events, a read receipt of the user's (their unread counts), or that entered or left one of the
lists' ranges (their combined config may differ). Every other room in scope is one the previous
response built or found quiet, and nothing since can have changed it: the full build
(service.py) would answer it "no news" and store nothing for it.

It returns None (the full computation then runs) whenever that reasoning does not hold: a first
request, a request whose lists, ranges, filters, configs or subscriptions differ from the
previous one (`request_key`), a position stored without an order or whose lists hold a room
left since the one before (listed once) or a kicked or banned room the user has forgotten
since (forgetting leaves no trace on the stream: one query, only for users with such rooms), a
membership change of the user (a new room, a leave, an invite) or an account-data change
(`m.direct`, `m.tag`, ignored users: filters, `is_dm`, hidden invites) in the window, a
`spaces` filter (a space's children change with the space's events), or a room with events
that the order does not know.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bastion.services.principal import Requester
from bastion.services.sliding_sync.connection_memory import ConnectionMemory
from bastion.services.sliding_sync.lists import ListResult, RoomLists
from bastion.services.sliding_sync.order import ListOrder
from bastion.services.sliding_sync.request import SlidingSyncRequest, combine
from bastion.services.sliding_sync.room_facts import BUMP_TYPES
from bastion.services.sliding_sync.room_model import RoomConfig, RoomResult, RoomToBuild
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore
from bastion.store.protocols.push import UnreadCount
from bastion.store.protocols.sync_probe import SyncNews, SyncProbe, SyncProbeStore
from bastion.store.records import MembershipRecord


class RoomBuilder(Protocol):
    """Builds room results (room_results.RoomResults)."""

    async def build_many(
        self, requester: Requester, rooms: Sequence[RoomToBuild], *, since: int | None, upto: int
    ) -> dict[str, RoomResult | None]: ...

    async def bump_stamps(
        self, user_id: str, room_ids: Sequence[str], upto: int
    ) -> dict[str, int]: ...

    @property
    def facts(self) -> ResponseFacts: ...


class ResponseFacts(Protocol):
    """Facts read once per response (room_facts.RoomFacts)."""

    async def own_receipts(self, user_id: str, since: int, upto: int) -> dict[str, int]: ...

    def carry_over(
        self,
        user_id: str,
        window: tuple[int, int],
        news: SyncNews,
        places: Mapping[str, tuple[int, int]],
    ) -> None: ...

    async def prime_unread(
        self, user_id: str, upto: int, rooms: Collection[str], rows: Sequence[UnreadCount]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class PlanSources:
    """What a plan reads from."""

    db: Database
    probe: SyncProbeStore
    memberships: MembershipStore
    lists: RoomLists
    rooms: RoomBuilder


@dataclass(frozen=True, slots=True)
class Plan:
    """A response's lists (as an order) and the rooms to build: room_id -> (the user's
    membership, the combined config, the lists whose ranges hold it)."""

    order: ListOrder
    subscribed: list[str]
    rooms: dict[str, tuple[MembershipRecord, RoomConfig, list[str]]]
    news: SyncNews | None = None  # the probe's answer (incremental plans only)
    lists: dict[str, ListResult] | None = None  # `order.results()`, when already computed
    moved: dict[str, int] | None = None  # rooms re-bumped since `previous` (incremental only)
    # every list's ranges hold the rooms they held before (only re-placed), the subscriptions
    # are the same: the response covers the rooms the previous one did (incremental only)
    same_rooms: bool = False
    # the joined rooms with events since the stored memory's stream position (the probe's)
    active: frozenset[str] = frozenset()
    # the device's one-time key counts and unused fallback key types, when the probe read them
    keys: tuple[dict[str, int], list[str]] | None = None


async def incremental_plan(
    sources: PlanSources,
    requester: Requester,
    request: SlidingSyncRequest,
    memory: ConnectionMemory,
    window: tuple[int, str],
) -> Plan | None:
    """The plan from the previous response's order and what changed since; None when only the
    full computation is right (module docstring)."""
    upto, key = window
    previous, since, scope = memory.order, memory.since, memory.scope
    if previous is None or since is None or scope is None or previous.key != key or previous.once:
        return None
    if any(w.filters.spaces is not None for w in request.lists.values()):
        return None
    user_id = requester.user_id
    # A no-write pos (connection.py): the order is exact as of `base`; re-place what moved
    # since then (a superset of what moved since `since`, so every fact below stays exact),
    # unless this process kept what it derived (then the order is exact as of `since`).
    after = memory.base if memory.base is not None and memory.derived is None else since
    probe = await _probe(sources, requester, previous, (after, upto))
    if probe is None:
        return None
    active = probe.active_rooms
    sources.rooms.facts.carry_over(user_id, (since, upto), probe.news, probe.places)
    await sources.rooms.facts.prime_unread(user_id, upto, active, probe.unread)
    records = {r: MembershipRecord(user_id, r, "join", "", at, False) for r, at in active.items()}
    bumps = await sources.rooms.bump_stamps(user_id, list(active), upto) if active else {}
    if len(bumps) != len(active):
        return None
    passing = await _encryption_passing(sources, request, user_id, records)
    index = previous.index()
    moved = {r: b for r, b in bumps.items() if index.get(r) != b}
    order = previous.moved(moved, passing) if moved or passing else previous
    lists = order.results()
    build = set(active)
    if probe.news.receipts:
        build.update(await sources.rooms.facts.own_receipts(user_id, since, upto))
    in_range: dict[str, Container[str]] = {}
    same_rooms = True
    for name, result in lists.items():
        if _whole_both(previous, order, name, result):
            # every room of the list, as before: the previous order's (kept) index holds them
            held = order.lists[name].passing
            in_range[name] = previous.index() if held is None else set(held)
            continue
        now = set(result.room_ids())
        in_range[name] = now
        same_rooms = False
        before = set(scope.lists.get(name, ()))
        build |= now ^ before  # entered or left this list's ranges: the config may differ
    subscribed = list(scope.subscriptions)
    rooms = await _rooms_to_build(sources, request, user_id, (build, in_range, subscribed), records)
    keys = (probe.one_time_key_counts, probe.unused_fallback_key_types)
    return Plan(
        order, subscribed, rooms, probe.news, lists, moved, same_rooms, frozenset(active), keys
    )


def _whole_both(previous: ListOrder, order: ListOrder, name: str, result: ListResult) -> bool:
    """Did list `name`'s ranges hold every room of the list both before and now (the same
    rooms: re-placing rooms adds or drops none, and its passing rooms did not change)? Then no
    room entered or left them."""
    stored = order.lists[name]
    if stored is not previous.lists.get(name) or len(order.rooms) != len(previous.rooms):
        return False
    return stored.ranges is None or any(
        start <= 0 and end >= result.count - 1 for start, end in stored.ranges
    )


async def _probe(
    sources: PlanSources, requester: Requester, previous: ListOrder, window: tuple[int, int]
) -> SyncProbe | None:
    """/sync's probe of (since, upto]; None when the user's memberships or account data
    moved, a kicked or banned room was forgotten, or a room with events is not in the order."""
    since, upto = window
    user_id = requester.user_id
    probe = await sources.probe.probe(
        sources.db, user_id, requester.device_id, after=since, upto=upto, bump_types=BUMP_TYPES
    )
    if probe.news.own_membership or probe.news.account_data:
        return None
    if previous.ended:  # forgetting a room leaves no trace on the stream: look
        still = await sources.memberships.rooms_of_user(sources.db, user_id, ["leave", "ban"])
        if set(previous.ended) - {r.room_id for r in still}:
            return None
    if not probe.active_rooms:
        return probe
    known = previous.index()
    if any(at > upto or room_id not in known for room_id, at in probe.active_rooms.items()):
        return None
    return probe


async def _rooms_to_build(
    sources: PlanSources,
    request: SlidingSyncRequest,
    user_id: str,
    selected: tuple[set[str], dict[str, Container[str]], list[str]],
    records: dict[str, MembershipRecord],
) -> dict[str, tuple[MembershipRecord, RoomConfig, list[str]]]:
    """The rooms of `build` still in scope (in a list's ranges or subscribed), each with its
    membership (read for those without events) and combined config."""
    build, in_range, subscribed = selected
    rooms: dict[str, tuple[MembershipRecord, RoomConfig, list[str]]] = {}
    for room_id in sorted(build):
        names = [name for name, now in in_range.items() if room_id in now]
        configs = [request.lists[name].config for name in names]
        if room_id in subscribed:
            configs.append(request.subscriptions[room_id])
        if not configs:
            continue  # out of scope now
        record = records.get(room_id) or await sources.memberships.get_membership(
            sources.db, user_id, room_id
        )
        if record is None or record.forgotten:
            continue
        rooms[room_id] = (record, combine(configs), names)
    return rooms


async def _encryption_passing(
    sources: PlanSources,
    request: SlidingSyncRequest,
    user_id: str,
    records: dict[str, MembershipRecord],
) -> dict[str, dict[str, bool]]:
    """Per list filtering on `is_encrypted`, whether each room with events passes now (an
    `m.room.encryption` event is one); the other filters cannot change without a membership
    or account-data change."""
    names = [n for n, w in request.lists.items() if w.filters.is_encrypted is not None]
    if not names or not records:
        return {}
    wanted = {name: request.lists[name] for name in names}
    passing = await sources.lists.passing(user_id, wanted, list(records.values()))
    out: dict[str, dict[str, bool]] = {}
    for name in names:
        ok = set(passing[name] or records)
        out[name] = {room_id: room_id in ok for room_id in records}
    return out
