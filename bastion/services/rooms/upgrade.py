"""`POST /rooms/{roomId}/upgrade`: replace a room with a new one of another room version
(spec: client-server-api#room-upgrades, "Server behaviour").

In the order the spec gives:
1. the requester must be joined and allowed to send `m.room.tombstone` in the old room (403);
   the new version must be one this server supports (400 M_UNSUPPORTED_ROOM_VERSION);
2. the new room is created (the same creation path as `/createRoom`, so the organisation's
   policy applies: its moderation account, its encryption) with `predecessor` and the old
   room's `type` in its create event and `additional_creators` as asked (v12);
3. transferable state is copied: server ACL, encryption, name, avatar, topic, guest access,
   history visibility, join rules, power levels (the spec's list), and Bastion's retention
   (`m.room.retention`, so a retention policy survives) and a space's `m.space.child` /
   `m.space.parent` links. Power levels keep every level, with the new room's creators
   removed from `users` in v12 (its auth rules forbid listing them) and the old room's creators
   who are not creators of the new one kept at 100; memberships are not copied (no one can
   join on another's behalf): the old room's members (joined or invited) are invited to the
   new one unless it is public, so they follow the tombstone into it, and whoever was banned
   is banned from the new one too;
4. the old room's local aliases move to the new room, its canonical alias with them, and a
   published room stays published (the new one in its place);
5. the old room gets the `m.room.tombstone` naming the new room;
6. its power levels then need 50 (or `users_default + 1`) to send or invite, so the old room
   goes quiet.
When a member joins the new room, their mute, room rule and tags of the old room follow
(upgrade_settings.py).

What must hold whatever fails, and so the order of the work: every `UpgradeFollower` hears of
the new room before anyone else can enter it (wiring: legal holds on the old room extend to the
new one, so nothing written there escapes a hold); the tombstone, the aliases' move and the
audit record (`room.upgrade`) commit in one transaction, so an alias never leads to a room the
old one does not name; members are invited only after that. A failure before the tombstone
answers the error with the old room as it was, and the upgrader leaves the new room, which no
one was invited to (an empty room, deletable through the admin API, may remain). One upgrade of
a room runs at a time, on every process: the same user asking again while theirs runs gets the
same new room (a client retrying), anyone else 400 `M_BAD_STATE`; a request that waited for an
upgrade on another process finds the room's tombstone changed and answers the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.power_levels import creators_of
from bastion.events.types import SUPPORTED_ROOM_VERSIONS, EventType
from bastion.ids import is_valid_user_id
from bastion.services.audit.trail import AuditTrail
from bastion.services.power_levels import current_power_levels
from bastion.services.principal import Requester
from bastion.services.rooms.create import CreateRoomRequest, RoomCreator, StateEventBody
from bastion.services.rooms.pipeline import EventPipeline
from bastion.services.shadow_ban import dropped, fake_room_id
from bastion.store.database import Database, Queryable
from bastion.store.protocols import MembershipStore, RoomDirectoryStore, RoomStore, StateStore

# Copied with an empty state key (spec's list, and retention).
_COPIED = (
    EventType.SERVER_ACL, EventType.ENCRYPTION, EventType.NAME, EventType.AVATAR,
    EventType.TOPIC, EventType.GUEST_ACCESS, EventType.HISTORY_VISIBILITY,
    EventType.JOIN_RULES, "m.room.retention",
)  # fmt: skip
_SPACE_LINKS = ("m.space.child", "m.space.parent")  # copied with every state key
_QUIET_LEVEL = 50
log = logging.getLogger(__name__)


class UpgradeFollower(Protocol):
    """What else must follow a room to its replacement (legal holds)."""

    async def room_upgraded(self, old_room: str, new_room: str) -> None: ...


class RoomUpgrader:
    """Upgrades rooms."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        creator: RoomCreator,
        stores: tuple[RoomStore, StateStore, MembershipStore, RoomDirectoryStore],
        *,
        audit: AuditTrail,
        clock: Clock,
        followers: Sequence[UpgradeFollower] = (),
    ) -> None:
        self._db = db
        self._clock = clock
        self._pipeline = pipeline
        self._creator = creator
        self._rooms, self._state, self._memberships, self._directory = stores
        self._audit = audit
        self._followers = followers
        self._running: dict[str, tuple[str, asyncio.Future[str]]] = {}  # room -> (user, upgrade)

    async def upgrade(
        self,
        requester: Requester,
        room_id: str,
        new_version: str,
        additional_creators: Sequence[str] = (),
    ) -> str:
        """Upgrade `room_id`; the new room's ID. The upgrade runs on even if the request is
        cancelled (a client hanging up must not leave it half done)."""
        running = self._running.get(room_id)
        if running is not None:
            upgrader, upgrading = running
            if upgrader != requester.user_id:
                raise MatrixError(400, Errcode.BAD_STATE, "this room is being upgraded already")
            return await asyncio.shield(upgrading)
        upgrading = asyncio.ensure_future(
            self._upgrade_alone(requester, room_id, new_version, additional_creators)
        )
        self._running[room_id] = (requester.user_id, upgrading)
        upgrading.add_done_callback(lambda done: self._finished(room_id, done))
        return await asyncio.shield(upgrading)

    def _finished(self, room_id: str, upgrading: asyncio.Future[str]) -> None:
        if self._running.get(room_id, ("", None))[1] is upgrading:
            del self._running[room_id]
        if not upgrading.cancelled():
            upgrading.exception()  # retrieved: its requester may have gone

    async def _upgrade_alone(
        self,
        requester: Requester,
        room_id: str,
        new_version: str,
        additional_creators: Sequence[str],
    ) -> str:
        """`_upgrade` under the room's lock among processes; refused (or, for the same user,
        answered with its new room) when another process upgraded the room meanwhile."""
        before = await self._tombstone_of(room_id)
        async with self._db.exclusive(f"room-upgrade:{room_id}"):
            after = await self._tombstone_of(room_id)
            if after is not None and (before is None or after.event_id != before.event_id):
                replacement = after.content.get("replacement_room")
                if after.sender == requester.user_id and isinstance(replacement, str):
                    return replacement
                raise MatrixError(400, Errcode.BAD_STATE, "this room was upgraded meanwhile")
            return await self._upgrade(requester, room_id, new_version, additional_creators)

    async def _tombstone_of(self, room_id: str) -> StoredEvent | None:
        found = await self._state.current_events(self._db, room_id, [(EventType.TOMBSTONE, "")])
        return found.get((EventType.TOMBSTONE, ""))

    async def _upgrade(
        self,
        requester: Requester,
        room_id: str,
        new_version: str,
        additional_creators: Sequence[str],
    ) -> str:
        if new_version not in SUPPORTED_ROOM_VERSIONS:
            raise MatrixError(
                400, Errcode.UNSUPPORTED_ROOM_VERSION, f"unsupported room version {new_version!r}"
            )
        for extra in additional_creators:
            if not is_valid_user_id(extra):
                raise MatrixError(400, Errcode.INVALID_PARAM, f"{extra!r} is not a user ID")
        user_id = requester.user_id
        membership = await self._memberships.get_membership(self._db, user_id, room_id)
        if membership is None or membership.membership != "join":
            raise MatrixError(403, Errcode.FORBIDDEN, "You must be in the room to upgrade it")
        power = await current_power_levels(self._db, self._rooms, self._state, room_id)
        if power.user_level(user_id) < power.event_level(EventType.TOMBSTONE, is_state=True):
            raise MatrixError(403, Errcode.FORBIDDEN, "You may not upgrade this room")
        if dropped(requester, "the upgrade of %s", room_id):
            return fake_room_id(self._pipeline.server_name, new_version)
        state = await self._state.current_state(
            self._db, room_id, types=[EventType.CREATE, EventType.POWER_LEVELS,
                                      EventType.CANONICAL_ALIAS, *_COPIED, *_SPACE_LINKS],
        )  # fmt: skip
        by_key = {(e.type, e.state_key): e for e in state if e.redacted_by is None}
        old_create = by_key[(EventType.CREATE, "")]
        old_version = str(old_create.content.get("room_version", "1"))
        creators = [user_id, *dict.fromkeys(a for a in additional_creators if a != user_id)]
        room = await self._rooms.get_room(self._db, room_id)
        last_event = room.last_event_id if room is not None else old_create.event_id
        request = self._new_room_request(by_key, (room_id, last_event), new_version, creators)
        new_room = await self._creator.create_room(requester, request)
        try:
            for follower in self._followers:
                await follower.room_upgraded(room_id, new_room)
            await self._carry_bans(room_id, new_room, user_id)
            await self._tombstone(requester, room_id, new_room, (old_version, new_version))
        except Exception:
            await self._abandon(user_id, room_id, new_room)
            raise
        await self._invite_members(room_id, new_room, user_id, by_key)
        await self._quieten(user_id, room_id, by_key.get((EventType.POWER_LEVELS, "")))
        return new_room

    async def _abandon(self, user_id: str, old_room: str, new_room: str) -> None:
        """The upgrade failed before the old room named the new one: its upgrader leaves the
        new room (no one else was let in), so it lingers in nobody's room list."""
        leave = EventDraft(EventType.MEMBER, user_id, {"membership": "leave"}, user_id)
        try:
            await self._pipeline.send(new_room, leave)
        except Exception:  # the error the upgrader gets is the first one
            log.exception("upgrade of %s failed; %s left in %s", old_room, user_id, new_room)

    def _new_room_request(
        self,
        by_key: dict[tuple[str, str | None], StoredEvent],
        old: tuple[str, str],
        new_version: str,
        creators: list[str],
    ) -> CreateRoomRequest:
        """The new room: `old` is the old room's ID and its last event (`predecessor`)."""
        room_id, last_event = old
        old_create = by_key[(EventType.CREATE, "")]
        old_version = str(old_create.content.get("room_version", "1"))
        creation: dict[str, Any] = {"predecessor": {"room_id": room_id}}
        if new_version != "12":  # optional from v12 on (spec v1.16); needed before
            creation["predecessor"]["event_id"] = last_event
        if isinstance(room_type := old_create.content.get("type"), str):
            creation["type"] = room_type
        if new_version == "12" and len(creators) > 1:
            creation["additional_creators"] = creators[1:]
        initial = [
            StateEventBody(type=e.type, state_key=e.state_key or "", content=e.content)
            for (event_type, _), e in by_key.items()
            if event_type in _COPIED or event_type in _SPACE_LINKS
        ]
        alias = by_key.get((EventType.CANONICAL_ALIAS, ""))
        if alias is not None and alias.content:
            initial.append(StateEventBody(EventType.CANONICAL_ALIAS, alias.content, ""))
        old_creators = creators_of(old_create.sender, old_create.content, old_version)
        levels = _new_power_levels(
            by_key.get((EventType.POWER_LEVELS, "")), old_creators, creators, new_version
        )
        return CreateRoomRequest(
            room_version=new_version,
            creation_content=creation,
            initial_state=initial,
            power_level_content_override=levels,
        )

    async def _carry_bans(self, old_room: str, new_room: str, user_id: str) -> None:
        """Ban in the new room whoever is banned from the old one (else an upgrade would let
        them back in), before anyone can follow the tombstone."""
        for banned in await self._memberships.members(self._db, old_room, ["ban"]):
            content = {"membership": "ban", "reason": "banned from the room this one replaced"}
            try:
                await self._pipeline.send(
                    new_room, EventDraft(EventType.MEMBER, user_id, content, banned)
                )
            except MatrixError as exc:  # a creator of the new room cannot be banned from it
                log.warning("upgrade of %s: %s not banned (%s)", old_room, banned, exc.errcode)

    async def _invite_members(
        self,
        old_room: str,
        new_room: str,
        user_id: str,
        by_key: dict[tuple[str, str | None], StoredEvent],
    ) -> None:
        """Invite the old room's members (joined or invited) to a new room they could not join
        otherwise (not public): no one is left behind by an upgrade. Members are not copied
        (the spec: nobody may join for someone else); an invite each is what the upgrader may
        do. One who may not be invited (the policy) is skipped, not fatal."""
        join_rules = by_key.get((EventType.JOIN_RULES, ""))
        if join_rules is not None and join_rules.content.get("join_rule") == "public":
            return
        members = await self._memberships.members(self._db, old_room, ["join", "invite"])
        for member in members:
            if member == user_id:
                continue
            content = await self._creator.member_content(member, "invite")
            try:
                await self._pipeline.send(
                    new_room, EventDraft(EventType.MEMBER, user_id, content, member)
                )
            except MatrixError as exc:
                log.info("upgrade of %s: %s not invited (%s)", old_room, member, exc.errcode)

    async def _move_aliases(
        self, t: Queryable, old_room: str, new_room: str, user_id: str
    ) -> list[str]:
        """Point the old room's local aliases at the new room; keep it published if it was."""
        aliases = await self._rooms.aliases_of_room(t, old_room)
        for alias in aliases:
            await self._rooms.delete_alias(t, alias)
            await self._rooms.insert_alias(t, alias, new_room, user_id, self._clock.now_ms())
        if await self._directory.is_published(t, old_room):
            await self._directory.unpublish(t, old_room)
            await self._directory.publish(t, new_room, user_id, self._clock.now_ms())
        return aliases

    async def _tombstone(
        self,
        requester: Requester,
        room_id: str,
        new_room: str,
        versions: tuple[str, str],
    ) -> None:
        """The tombstone, with the aliases' move and the audit record in its transaction."""
        old_version, new_version = versions
        content = {"body": "This room has been replaced", "replacement_room": new_room}

        async def record(t: Queryable, _event: StoredEvent) -> None:
            aliases = await self._move_aliases(t, room_id, new_room, requester.user_id)
            details = {"replacement_room": new_room, "from_version": old_version,
                       "to_version": new_version, "aliases_moved": aliases}  # fmt: skip
            await self._audit.record(t, requester, "room.upgrade", room_id, details)

        draft = EventDraft(EventType.TOMBSTONE, requester.user_id, content, "")
        await self._pipeline.send(room_id, draft, also=record)

    async def _quieten(self, user_id: str, room_id: str, levels: StoredEvent | None) -> None:
        """Raise the old room's levels to send and invite (the spec's step 6), when the
        upgrader may still change them; else leave them (the tombstone is sent already)."""
        content: dict[str, Any] = dict(levels.content) if levels is not None else {}
        users_default = content.get("users_default", 0)
        quiet = max(_QUIET_LEVEL, (users_default if isinstance(users_default, int) else 0) + 1)
        content["events_default"] = max(_int(content.get("events_default")), quiet)
        content["invite"] = max(_int(content.get("invite")), quiet)
        canonical = await self._state.current_events(
            self._db, room_id, [(EventType.CANONICAL_ALIAS, "")]
        )
        try:
            if canonical.get((EventType.CANONICAL_ALIAS, "")) is not None:
                draft = EventDraft(EventType.CANONICAL_ALIAS, user_id, {}, "")
                await self._pipeline.send(room_id, draft)  # its aliases are the new room's
            await self._pipeline.send(
                room_id, EventDraft(EventType.POWER_LEVELS, user_id, content, "")
            )
        except MatrixError as exc:  # the upgrader may not: the tombstone still says it all
            log.info("upgraded room %s left as it was (%s)", room_id, exc.errcode)


def _new_power_levels(
    event: StoredEvent | None,
    old_creators: frozenset[str],
    creators: list[str],
    new_version: str,
) -> dict[str, Any]:
    """The old room's power levels for the new room (module docstring, step 3)."""
    content: dict[str, Any] = dict(event.content) if event is not None else {}
    users = content.get("users")
    users = dict(users) if isinstance(users, dict) else {}
    for old_creator in old_creators:  # creators of a v12 room had no level: give them 100
        if old_creator not in creators:
            users[old_creator] = max(_int(users.get(old_creator)), 100)
    if new_version == "12":
        for creator in creators:
            users.pop(creator, None)
    else:
        users[creators[0]] = max(_int(users.get(creators[0])), 100)
    content["users"] = users
    return content


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
