"""`POST /createRoom`: the create event and the initial state, in one transaction.

Order of events (spec: client-server-api#post_matrixclientv3createroom): create, the creator's
join, power levels (with `power_level_content_override`), canonical alias, the preset's join
rules / history visibility / guest access, `initial_state`, name, topic, then one invite per
invitee, all written by `EventPipeline.create_room` (which checks every one with the event hooks
before opening the transaction, and wakes syncs after commit). Either all of them are stored or
none is; `visibility: public` publishes the room in the room directory in the same transaction.
Only an alias that is already taken is M_ROOM_IN_USE: it is checked by the insert itself, so
any other unique-key collision stays a server error.

The organisation policy (`NewRoomPolicy`, services/policy/enforcement.py) adds to every new room
its moderation account (a v12 additional creator, or power 100 in v7-v11, after the client's
override) and, when encryption is required, Megolm `m.room.encryption` unless the request has one.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.types import (
    DEFAULT_ROOM_VERSION,
    SUPPORTED_ROOM_VERSIONS,
    EventType,
    before_v11,
)
from bastion.ids import UserID
from bastion.services.principal import Requester
from bastion.services.profile import ProfileService
from bastion.services.room_additions import NewRoomPolicy, RoomAdditions
from bastion.services.rooms.aliases import ServiceNamespaces
from bastion.services.rooms.pipeline import AuthRulesRefusal, EventPipeline
from bastion.services.shadow_ban import dropped
from bastion.store.database import Database, Queryable
from bastion.store.protocols import RoomDirectoryStore, RoomStore, UserStore

_ALIAS_LOCALPART = re.compile(r"[^\s:#]{1,200}")
MAX_INVITES = 500
MAX_INITIAL_STATE = 200


class StateEventBody(msgspec.Struct, frozen=True):
    """One entry of `initial_state`."""

    type: str
    content: dict[str, Any]
    state_key: str = ""


class CreateRoomRequest(msgspec.Struct, frozen=True):
    """Body of `POST /createRoom`."""

    visibility: str = "private"
    room_alias_name: str | None = None
    name: str | None = None
    topic: str | None = None
    invite: list[str] = []
    room_version: str | None = None
    creation_content: dict[str, Any] | None = None
    initial_state: list[StateEventBody] = []
    preset: str | None = None
    is_direct: bool = False
    power_level_content_override: dict[str, Any] | None = None


# preset -> (join_rule, history_visibility, guest_access)
_PRESETS: dict[str, tuple[str, str, str]] = {
    "private_chat": ("invite", "shared", "can_join"),
    "trusted_private_chat": ("invite", "shared", "can_join"),
    "public_chat": ("public", "shared", "forbidden"),
}


def _add_creators(create_content: dict[str, Any], invitees: list[str]) -> None:
    """spec v1.16, `trusted_private_chat`: "combine `additional_creators` specified here and
    the `invite` array ..., deduplicating" (a value that is not a list is left to the auth
    rules, which refuse it)."""
    given = create_content.get("additional_creators", [])
    if isinstance(given, list) and (merged := list(dict.fromkeys([*given, *invitees]))):
        create_content["additional_creators"] = merged


def default_power_levels(
    creator: str, preset: str, room_version: str, invitees: list[str]
) -> dict[str, Any]:
    """The power levels a new room starts with."""
    users: dict[str, int] = {}
    if room_version != "12":
        users[creator] = 100
        if preset == "trusted_private_chat":
            users.update(dict.fromkeys(invitees, 100))
    return {
        "users": users,
        "users_default": 0,
        "events": {
            "m.room.name": 50, "m.room.power_levels": 100, "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50, "m.room.avatar": 50, "m.room.tombstone": 100,
            "m.room.server_acl": 100, "m.room.encryption": 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 50 if preset == "public_chat" else 0,
        "notifications": {"room": 50},
    }  # fmt: skip


class RoomCreator:
    """Creates rooms."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        *,
        rooms: tuple[RoomStore, RoomDirectoryStore],
        users: UserStore,
        profiles: ProfileService,
        clock: Clock,
        policy: NewRoomPolicy | None = None,
        reserved: ServiceNamespaces | None = None,
    ) -> None:
        """`rooms`: the rooms and their directory listing; `reserved`: application services'
        namespaces (aliases reserved; invitees they may create when asked)."""
        self._db = db
        self._policy = policy
        self._reserved = reserved
        self._pipeline = pipeline
        self._rooms, self._directory = rooms
        self._users = users
        self._profiles = profiles
        self._clock = clock

    async def create_room(self, requester: Requester, request: CreateRoomRequest) -> str:
        """Create the room; returns its ID."""
        version = request.room_version or DEFAULT_ROOM_VERSION
        if version not in SUPPORTED_ROOM_VERSIONS:
            raise MatrixError(
                400, Errcode.UNSUPPORTED_ROOM_VERSION, f"unsupported room version {version!r}"
            )
        if request.visibility not in ("public", "private"):
            raise MatrixError(
                400, Errcode.INVALID_PARAM, "visibility must be 'public' or 'private'"
            )
        preset = request.preset or (
            "public_chat" if request.visibility == "public" else "private_chat"
        )
        if preset not in _PRESETS:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"unknown preset {preset!r}")
        invitees = await self._check_invitees(requester, request.invite)
        if invitees and dropped(requester, "the invites of a new room"):
            invitees = []  # the room is created, as in Synapse; only the invites are dropped
        if len(request.initial_state) > MAX_INITIAL_STATE:
            raise MatrixError(400, Errcode.INVALID_PARAM, "too many initial_state events")
        alias = self._alias(request.room_alias_name)
        if alias is not None and self._reserved is not None:
            self._reserved.check_alias_creation(alias, requester.appservice)
        drafts = await self._drafts(requester.user_id, request, version, preset, invitees, alias)
        events = await self._write(drafts, version, request.visibility == "public", alias)
        return events[0].room_id

    async def _write(
        self,
        drafts: list[EventDraft],
        version: str,
        is_public: bool,
        alias: str | None,
    ) -> list[StoredEvent]:
        creator = drafts[0].sender

        async def setup(t: Queryable, room_id: str) -> None:
            if is_public:
                await self._directory.publish(t, room_id, creator, self._clock.now_ms())
            if alias is not None and not await self._rooms.insert_alias(
                t, alias, room_id, creator, self._clock.now_ms()
            ):
                raise MatrixError(400, Errcode.ROOM_IN_USE, f"room alias {alias} is already taken")

        try:
            return await self._pipeline.create_room(
                drafts, version, is_public=is_public, setup=setup
            )
        except AuthRulesRefusal as exc:  # the client's initial state broke the auth rules
            raise MatrixError(400, Errcode.INVALID_ROOM_STATE, exc.message) from exc

    async def _check_invitees(self, requester: Requester, invite: list[str]) -> list[str]:
        if len(invite) > MAX_INVITES:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"at most {MAX_INVITES} invitees")
        invitees = list(dict.fromkeys(invite))
        for user_id in invitees:
            parsed = UserID.parse(user_id)
            user = await self._users.get_user(self._db, user_id)
            if (
                user is None
                and self._reserved is not None
                and await self._reserved.query_user(user_id)
            ):  # a bridged person's ghost, created by its service when asked
                user = await self._users.get_user(self._db, user_id)
            if (
                parsed.server_name != self._pipeline.server_name
                or user is None
                or user.is_deactivated
            ):
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown user {user_id}")
        return [u for u in invitees if u != requester.user_id]

    def _alias(self, localpart: str | None) -> str | None:
        if localpart is None:
            return None
        if not _ALIAS_LOCALPART.fullmatch(localpart):
            raise MatrixError(400, Errcode.INVALID_PARAM, f"invalid room_alias_name {localpart!r}")
        return f"#{localpart}:{self._pipeline.server_name}"

    async def _drafts(
        self,
        creator: str,
        request: CreateRoomRequest,
        version: str,
        preset: str,
        invitees: list[str],
        alias: str | None,
    ) -> list[EventDraft]:
        def state(event_type: str, content: dict[str, Any], state_key: str = "") -> EventDraft:
            return EventDraft(event_type, creator, content, state_key)

        create_content: dict[str, Any] = {
            **(request.creation_content or {}),
            "room_version": version,
        }
        if before_v11(version):
            create_content["creator"] = creator
        if version == "12" and preset == "trusted_private_chat":
            _add_creators(create_content, invitees)
        power = default_power_levels(creator, preset, version, invitees)
        power.update(request.power_level_content_override or {})
        additions = (
            RoomAdditions() if self._policy is None else await self._policy.additions(version)
        )
        _add_moderator(additions.moderator, creator, version, create_content, power)
        join_rule, history_visibility, guest_access = _PRESETS[preset]
        drafts = [
            state(EventType.CREATE, create_content),
            state(EventType.MEMBER, await self.member_content(creator, "join"), creator),
            state(EventType.POWER_LEVELS, power),
        ]
        if alias is not None:
            drafts.append(state(EventType.CANONICAL_ALIAS, {"alias": alias}))
        drafts += [
            state(EventType.JOIN_RULES, {"join_rule": join_rule}),
            state(EventType.HISTORY_VISIBILITY, {"history_visibility": history_visibility}),
            state(EventType.GUEST_ACCESS, {"guest_access": guest_access}),
        ]
        drafts += [state(s.type, s.content, s.state_key) for s in request.initial_state]
        encrypted = any(
            s.type == EventType.ENCRYPTION and s.state_key == "" for s in request.initial_state
        )
        if additions.encryption is not None and not encrypted:
            drafts.append(state(EventType.ENCRYPTION, additions.encryption))
        if request.name is not None:
            drafts.append(state(EventType.NAME, {"name": request.name}))
        if request.topic is not None:
            topic = {
                "topic": request.topic,
                "m.topic": {"m.text": [{"body": request.topic, "mimetype": "text/plain"}]},
            }
            drafts.append(state(EventType.TOPIC, topic))
        for invitee in invitees:
            content = await self.member_content(invitee, "invite")
            if request.is_direct:
                content["is_direct"] = True
            drafts.append(state(EventType.MEMBER, content, invitee))
        return drafts

    async def member_content(self, user_id: str, membership: str) -> dict[str, Any]:
        """Member event content carrying the user's current profile."""
        content: dict[str, Any] = {"membership": membership}
        profile = await self._profiles.get_profile(user_id)
        if profile.displayname is not None:
            content["displayname"] = profile.displayname
        if profile.avatar_url is not None:
            content["avatar_url"] = profile.avatar_url
        return content


def _add_moderator(
    moderator: str | None,
    creator: str,
    version: str,
    create_content: dict[str, Any],
    power: dict[str, Any],
) -> None:
    """Give the policy's moderation account lasting power: v12 additional creator, else 100
    (after the client's override, which cannot take it away)."""
    if moderator is None or moderator == creator:
        return
    if version == "12":
        extra = create_content.get("additional_creators", [])
        if isinstance(extra, list) and moderator not in extra:
            create_content["additional_creators"] = [*extra, moderator]
        users = power.get("users")
        if isinstance(users, dict) and moderator in users:  # a creator has no listed level
            power["users"] = {u: level for u, level in users.items() if u != moderator}
        return
    users = power.get("users", {})
    if isinstance(users, dict):
        power["users"] = {**users, moderator: 100}
