"""The fields of a room result that are not its timeline or required state (MSC4186
"Room results"): `name`, `avatar`, `heroes`, `is_dm`, `joined_count`, `invited_count`; and
`RoomBuild`, one room being built (room_results.py).

Invariants: `name`/`avatar` come from their state events whatever `required_state` holds; an
initial room gets every field, a room sent before only those that changed since (its state
changes, an `m.direct` change); `heroes` (rooms without a name only) are /sync's `m.heroes`
(`sync/rooms.room_heroes`, or what room_prefetch.py read for many rooms at once), with the
heroes' display names and avatars from their member events read through the read door.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.json_types import JsonObject
from bastion.services.members_cache import RoomMembersCache
from bastion.services.principal import Requester
from bastion.services.sliding_sync.required_state import MEMBER, state_text
from bastion.services.sliding_sync.room_facts import RoomFacts
from bastion.services.sliding_sync.room_model import RoomConfig, RoomMemory
from bastion.services.sliding_sync.room_prefetch import Prefetched
from bastion.services.sync.rooms import room_heroes
from bastion.services.visibility import RoomAccess, VisibilityService
from bastion.store.records import MembershipRecord


@dataclass(slots=True)
class RoomBuild:
    """One room being built (room_results.py)."""

    requester: Requester
    membership: MembershipRecord
    config: RoomConfig
    memory: RoomMemory | None  # None: initial
    since: int | None
    upto: int
    ceiling: int  # the last position the requester may see: `upto`, or their leave
    access: RoomAccess
    ahead: Prefetched  # what room_prefetch.py read for this response's initial rooms

    @property
    def user_id(self) -> str:
        return self.requester.user_id

    @property
    def room_id(self) -> str:
        return self.membership.room_id


class RoomFields:
    """Fills a result's room fields."""

    def __init__(
        self, visibility: VisibilityService, members: RoomMembersCache, facts: RoomFacts
    ) -> None:
        self._visibility = visibility
        self._members = members
        self._facts = facts

    async def fill(self, build: RoomBuild, payload: JsonObject, changed: list[StoredEvent]) -> bool:
        """name, avatar, heroes, is_dm and member counts into `payload`: all of them when
        initial, else those that changed (`changed`: the state changes since last sent).
        Returns whether any changed."""
        initial = build.memory is None
        by_key = {(e.type, e.state_key): e for e in changed}
        name_event = by_key.get((EventType.NAME, ""))
        avatar_event = by_key.get((EventType.AVATAR, ""))
        members_changed = initial or any(e.type == MEMBER for e in changed)
        news = False
        if initial or name_event is not None:
            name = state_text(name_event, "name")
            if name is not None or not initial:
                payload["name"] = name
                news = True
        if initial or avatar_event is not None:
            avatar = state_text(avatar_event, "url")
            if avatar is not None or not initial:
                payload["avatar"] = avatar
                news = True
        joined = build.membership.membership == "join"
        if joined and (members_changed or name_event is not None):
            news |= await self._summary(build, payload, name_event)
        if initial or await self._facts.direct_changed(
            build.user_id, build.memory.sent_upto if build.memory else 0, build.upto
        ):
            payload["is_dm"] = await self._facts.is_dm(build.user_id, build.room_id, build.upto)
            news = news or not initial
        return news

    async def _summary(
        self, build: RoomBuild, payload: JsonObject, name_event: StoredEvent | None
    ) -> bool:
        """Member counts, and heroes when the room has no name."""
        initial = build.memory is None
        counts = await self._facts.counts(build.user_id, build.room_id, build.upto, bulk=initial)
        payload["joined_count"] = counts.get("join", 0)
        payload["invited_count"] = counts.get("invite", 0)
        if name_event is None and not initial:  # initial: the state read had it, if set
            named = await self._visibility.state_of(
                build.access, build.room_id, [EventType.NAME.value], []
            )
            name_event = named[0] if named else None
        if state_text(name_event, "name") is None:
            known = build.ahead.heroes.get(build.room_id) if initial else None
            if known is not None:
                heroes, by_user = known
            else:
                heroes = await room_heroes(self._members, build.room_id, build.user_id)
                found = await self._visibility.state_of(build.access, build.room_id, [], heroes)
                by_user = {e.state_key or "": e for e in found}
            payload["heroes"] = [hero(user, by_user.get(user)) for user in heroes]
        return True


def hero(user_id: str, member: StoredEvent | None) -> JsonObject:
    hero: JsonObject = {"user_id": user_id}
    for field, key in (("displayname", "displayname"), ("avatar_url", "avatar_url")):
        value = state_text(member, key)
        if value is not None:
            hero[field] = value
    return hero
