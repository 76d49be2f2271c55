"""One sliding-sync request → one response: the lists and subscriptions select rooms, their
configs are combined per room, the room results (room_results.py) build what is new, the
extensions add theirs, and the connection stores what was sent under a new `pos`.

A room is sent when it matches a list range or a subscription and either the connection has
never sent it, or it has news since it was last sent, or its combined config grew (MSC4186
"Changing room configs": sent at once); room_results.py decides which, from what the
connection remembers of the room (`RoomMemory`).

A woken request (same lists and subscriptions as the previous one) is planned from what changed
since (incremental.py: the rooms with events re-placed in the stored order, only they built);
anything else computes every list from the user's memberships (`_full_plan`).

A request with a `pos` and nothing new waits (services/long_poll.py, the same loop as /sync)
until something concerns the user or `timeout` passes; a request without `pos` never waits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bastion.json_types import JsonObject
from bastion.services.long_poll import LongPoll
from bastion.services.presence.service import PresenceService
from bastion.services.principal import Requester
from bastion.services.sliding_sync.connection import Connections
from bastion.services.sliding_sync.connection_memory import ConnectionMemory
from bastion.services.sliding_sync.extensions.base import (
    Extension,
    ExtensionContext,
    ExtensionScope,
)
from bastion.services.sliding_sync.incremental import (
    Plan,
    PlanSources,
    RoomBuilder,
    incremental_plan,
)
from bastion.services.sliding_sync.lists import LEFT, ListResult, RoomLists
from bastion.services.sliding_sync.order import ListOrder, StoredList, request_key
from bastion.services.sliding_sync.request import SlidingSyncRequest, combine
from bastion.services.sliding_sync.response import Draft, shape
from bastion.services.sliding_sync.room_model import RoomConfig, RoomMemory, RoomToBuild
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore
from bastion.store.protocols.sync_probe import SyncProbeStore
from bastion.store.records import MembershipRecord

ALL_MEMBERSHIPS = ("join", "invite", "knock", "leave", "ban")


class InviteVisibility(Protocol):
    """Which invites are hidden from their invitee (services/visibility.py)."""

    async def hidden_invites(
        self, viewer: str, invites: Sequence[MembershipRecord]
    ) -> set[str]: ...


@dataclass(frozen=True, slots=True)
class SlidingSyncParts:
    """What the service is built from (app/sliding_sync.py wires it)."""

    db: Database
    memberships: MembershipStore
    invites: InviteVisibility
    connections: Connections
    lists: RoomLists
    rooms: RoomBuilder
    probe: SyncProbeStore  # /sync's: which rooms had events since the previous response
    extensions: Sequence[Extension]
    long_poll: LongPoll
    presence: PresenceService


@dataclass(frozen=True, slots=True)
class _Scope:
    """The rooms a response covers: each with its combined config and the lists it is in."""

    configs: dict[str, RoomConfig]
    in_lists: dict[str, list[str]]
    subscribed: list[str]


class SlidingSyncService:
    """Serves sliding-sync requests (both dialects: the api layer only passes bytes through)."""

    def __init__(self, parts: SlidingSyncParts) -> None:
        self._p = parts

    def revocations_mark(self) -> int:
        """Read before authenticating a request, passed back as `authenticated_at`."""
        return self._p.long_poll.revocations_mark()

    async def sync(
        self,
        requester: Requester,
        request: SlidingSyncRequest,
        *,
        authenticated_at: int | None = None,
    ) -> JsonObject:
        """The response, waiting up to the timeout when the client has a pos and nothing is
        new. The user's presence follows `set_presence`. `authenticated_at`: see long_poll.py."""
        p = self._p
        async with p.presence.syncing(requester.user_id, request.set_presence):
            memory = await p.connections.open(requester, request.conn_id, request.pos)
            skipped: list[tuple[int, int]] = []

            async def build(upto: int, typing_seen: int) -> tuple[Draft | None, bool]:
                if not skipped and _nothing_new(request, memory, upto, typing_seen):
                    skipped.append((upto, typing_seen))
                    return None, False  # built only if no wake-up comes (below)
                return await self._build(requester, request, memory, upto, typing_seen)

            waiting = memory.since is not None and request.timeout_ms > 0
            draft = await p.long_poll.run(
                requester,
                build,
                timeout_ms=request.timeout_ms,
                wait=waiting,
                authenticated_at=authenticated_at,
            )
            if draft is None:  # the timeout passed with nothing new: the answer skipped
                draft, _ = await self._build(requester, request, memory, *skipped[0])
            order = draft.order if draft.order is not None else ListOrder("", [], {})
            pos = await p.connections.save(
                memory, draft.changed, draft.scope, order=order, upto=draft.upto,
                ephemeral=draft.ephemeral, moved=draft.moved, derivable=draft.derivable,
            )  # fmt: skip
        return shape(request, draft, pos)

    async def _build(
        self,
        requester: Requester,
        request: SlidingSyncRequest,
        memory: ConnectionMemory,
        upto: int,
        typing_seen: int,
    ) -> tuple[Draft, bool]:
        key = request_key(request)
        p = self._p
        plan: Plan | None = None
        if not request.lists and not request.subscriptions:
            plan = await self._roomless(requester, memory, upto, key)
        else:
            sources = PlanSources(p.db, p.probe, p.memberships, p.lists, p.rooms)
            plan = await incremental_plan(sources, requester, request, memory, (upto, key))
        if plan is None:
            plan = await self._full_plan(requester, request, memory, upto, key)
        lists = plan.lists if plan.lists is not None else plan.order.results()
        scope = ExtensionScope({name: lists[name].room_ids() for name in lists}, plan.subscribed)
        if plan.same_rooms and memory.scope is not None:
            scope = scope.same_rooms_as(memory.scope)
        draft = Draft(
            upto=upto,
            ephemeral=typing_seen,
            lists=lists,
            scope=scope,
            sent_lists=memory.scope.lists if memory.scope is not None else {},
            # what the client holds, unless derived from an older stored pos (response.py)
            sent_exact=memory.base is None or memory.derived is not None,
            order=plan.order,
            moved=plan.moved,
        )
        lifted = await self._lifted(requester, memory, plan)
        await self._rooms(requester, memory, plan, draft, lifted)
        news = bool(draft.rooms) or memory.since is None
        if request.extensions:
            context = ExtensionContext(
                requester, memory.since, upto, memory.since_ephemeral, typing_seen,
                draft.scope, previous_scope=memory.scope, news=plan.news, keys=plan.keys,
            )  # fmt: skip
            for extension in self._p.extensions:
                if (wanted := request.extensions.get(extension.name)) is None:
                    continue
                result = await extension.build(context, wanted)
                if result is not None:
                    draft.extensions[extension.name] = result.payload
                    news = news or result.news
        return draft, news

    async def _roomless(
        self, requester: Requester, memory: ConnectionMemory, upto: int, key: str
    ) -> Plan:
        """The plan of a request without lists or room subscriptions (Element X's `encryption`
        connection: only the `to_device` and `e2ee` extensions): no room to build or order, so
        nothing of the rooms to read. Such a connection is woken by every message in the
        user's rooms and, with nothing for it, waits again; probing its window's rooms (which
        grow with every message until it answers) and computing every room's order on each of
        those wake-ups cost ~9 ms per message at 1,000 rooms. After the first request, one
        statement tells the extensions which streams may hold something for them and the
        device's key counts (the probe without its rooms)."""
        plan = Plan(ListOrder(key, [], {}), [], {}, lists={})
        if memory.since is None:
            return plan  # a first request: the extensions read everything
        probe = await self._p.probe.probe(
            self._p.db, requester.user_id, requester.device_id,
            after=memory.since, upto=upto, rooms=False,
        )  # fmt: skip
        keys = (probe.one_time_key_counts, probe.unused_fallback_key_types)
        return replace(plan, news=probe.news, keys=keys)

    async def _full_plan(
        self,
        requester: Requester,
        request: SlidingSyncRequest,
        memory: ConnectionMemory,
        upto: int,
        key: str,
    ) -> Plan:
        """Every list from the user's memberships, sorted; every room in scope to build."""
        p = self._p
        user_id = requester.user_id
        records = {
            r.room_id: r for r in await p.memberships.rooms_of_user(p.db, user_id, ALL_MEMBERSHIPS)
        }
        # An invite from someone the user ignores is not shown (the read door decides).
        invites = [r for r in records.values() if r.membership == "invite"]
        for room_id in await p.invites.hidden_invites(user_id, invites):
            del records[room_id]

        async def bump_stamps(room_ids: Sequence[str]) -> dict[str, int]:
            return await p.rooms.bump_stamps(user_id, room_ids, upto)

        listed, once = await p.lists.listed(user_id, list(records.values()), memory.since)
        rooms, passing = await p.lists.build(user_id, request.lists, listed, bump_stamps)
        order = ListOrder(
            key,
            rooms,
            {
                name: StoredList(None if w.ranges is None else list(w.ranges), passing[name])
                for name, w in request.lists.items()
            },
            once if request.lists else [],
            [r.room_id for r in listed if r.membership in LEFT and r.room_id not in once]
            if request.lists
            else [],
        )
        scope = _scope(request, order.results(), records)
        return Plan(
            order,
            scope.subscribed,
            {
                room_id: (records[room_id], config, scope.in_lists.get(room_id, []))
                for room_id, config in scope.configs.items()
            },
        )

    async def _lifted(
        self, requester: Requester, memory: ConnectionMemory, plan: Plan
    ) -> frozenset[str]:
        """At a no-write pos (connection.py), the rooms whose stored memory is older than what
        the client has: those the stored position covered with events since its `base` (a
        superset: the others were up to date already). Empty at any other pos."""
        if memory.base is None or memory.derived is not None:
            return frozenset()  # not a no-write pos, or this process kept what it derived
        if memory.since is None or memory.scope is None:
            return frozenset()
        active = plan.active
        if plan.news is None:  # the full computation: the probe of the derived window
            probe = await self._p.probe.probe(
                self._p.db, requester.user_id, requester.device_id,
                after=memory.base, upto=memory.since,
            )  # fmt: skip
            active = frozenset(probe.active_rooms)
        return active & memory.scope.selected(None, None)

    async def _rooms(
        self,
        requester: Requester,
        memory: ConnectionMemory,
        plan: Plan,
        draft: Draft,
        lifted: frozenset[str],
    ) -> None:
        """Build the plan's rooms; keep those with news (or never sent); note what to
        remember. Only those rooms' memories are read; RoomResults answers a room without news
        from facts it reads once for all rooms of the response (no query per quiet room).
        `lifted` rooms are sent up to the pos's stream position (`_lifted`): built from that
        memory, and remembered so when this response writes."""
        wanted_ids = list(plan.rooms)
        wanted_ids += [r for r in lifted if r not in plan.rooms]
        stored = await self._p.connections.room_memories(memory, wanted_ids)
        memories = dict(stored)
        for room_id in lifted:
            m, upto = stored.get(room_id), memory.since
            if m is not None and m.membership == "join" and upto is not None and m.sent_upto < upto:
                memories[room_id] = draft.changed[room_id] = RoomMemory(
                    upto, m.config, m.lazy_members, m.membership
                )
        wanted = [
            RoomToBuild(record, config, memories.get(room_id))
            for room_id, (record, config, _) in plan.rooms.items()
        ]
        results = await self._p.rooms.build_many(
            requester, wanted, since=memory.since, upto=draft.upto
        )
        for room_id, result in results.items():
            remembered = memories.get(room_id)
            if result is None:  # not (or no longer) visible to the requester
                continue
            if result.news or remembered is None:
                draft.rooms[room_id] = (result.payload, plan.rooms[room_id][2])
            if result.memory != stored.get(room_id):
                draft.changed[room_id] = result.memory
            else:
                draft.changed.pop(room_id, None)
        draft.derivable = _derivable(memory, plan, stored, draft.changed)


# Extensions whose news is on the stream or the typing serial (extensions/): a request that
# parks at its pos's position and serial has none of theirs.
_STREAM_ONLY = frozenset({"account_data", "receipts", "typing"})


def _nothing_new(
    request: SlidingSyncRequest, memory: ConnectionMemory, upto: int, typing_seen: int
) -> bool:
    """Would the build at (`upto`, `typing_seen`) find nothing to send? True only when it is
    certain without a read: a long-poll whose pos is at this stream position and typing
    serial (nothing in any stream since: the probe's window is empty), with the lists,
    ranges, configs and subscriptions the memory's order was computed for (no room enters or
    leaves a range, no config changes), memory exact as of the pos (not a pos to derive
    from, connection.py), and only extensions whose news is on the stream (to-device
    messages wait until acknowledged, whatever the position). The long-poll then parks
    without building; `sync` builds the answer if no wake-up comes."""
    order = memory.order
    return (
        request.timeout_ms > 0
        and memory.since == upto
        and memory.since_ephemeral == typing_seen
        and memory.scope is not None
        and order is not None
        and not order.once
        and (memory.base is None or memory.derived is not None)
        and request.extensions.keys() <= _STREAM_ONLY
        and order.key == request_key(request)
    )


# A no-write answer is given while the rooms with events since the stored position are at most
# this many: a request on that pos served by another process (or after a restart) builds them
# again, finding most of them quiet; this process keeps what it derived (connection_memory.Derived).
_DERIVED_AT_MOST = 64


def _derivable(
    memory: ConnectionMemory,
    plan: Plan,
    stored: Mapping[str, RoomMemory],
    changed: Mapping[str, RoomMemory],
) -> bool:
    """May this response be answered without writing (connection.py)? Only an incremental one
    covering the rooms the previous one did, whose every changed memory is a joined room with
    events since the stored position, sent further up the stream and nothing else (no new
    lazy member, config or membership): the next request derives exactly those (`_lifted`).
    A room sent for another reason (a read receipt of the user's) has no events: stored."""
    if not memory.seq or memory.scope is None or plan.news is None:
        return False
    pending = frozenset(memory.derived.rooms) if memory.derived is not None else frozenset()
    if not plan.same_rooms or len(plan.active | pending) > _DERIVED_AT_MOST:
        return False
    scope = memory.scope.selected(None, None)
    for room_id, new in changed.items():
        old = stored.get(room_id)
        if (
            old is None
            or room_id not in plan.active
            or room_id not in scope
            or old.membership != "join"
            or new.membership != "join"
            or new.config != old.config
            or new.lazy_members != old.lazy_members
        ):
            return False
    return True


def _scope(
    request: SlidingSyncRequest,
    lists: Mapping[str, ListResult],
    records: Mapping[str, MembershipRecord],
) -> _Scope:
    """Every room in a list range or subscribed to (and known to the user), its lists, and its
    configs combined."""
    configs: dict[str, RoomConfig] = {}
    several: dict[str, list[RoomConfig]] = {}  # rooms selected more than once: combined below
    in_lists: dict[str, list[str]] = {}

    def select(room_id: str, config: RoomConfig) -> None:
        if room_id not in configs:
            configs[room_id] = config
        elif room_id in several:
            several[room_id].append(config)
        else:
            several[room_id] = [configs[room_id], config]

    for name, result in lists.items():
        config = request.lists[name].config
        for room_id in result.room_ids():
            select(room_id, config)
            in_lists.setdefault(room_id, []).append(name)
    subscribed = [room_id for room_id in request.subscriptions if room_id in records]
    for room_id in subscribed:
        select(room_id, request.subscriptions[room_id])
    configs |= {room_id: combine(c) for room_id, c in several.items()}
    return _Scope(configs, in_lists, subscribed)
