"""Building room results the way the connection code does, without the endpoint.

`RoomSession` is one user's connection as far as room results see it: each `build` is one
response (its `since` is where the previous one ended, its `upto` the positions persisted now),
and it remembers what it was told to remember, as the connection does once a response is sent.
"""

from __future__ import annotations

from typing import Any

from bastion.services.principal import Requester
from bastion.services.sliding_sync.room_model import RoomConfig, RoomMemory, RoomResult
from bastion.store.records import MembershipRecord
from bastion.store.sql.memberships import SqlMembershipStore
from tests.conftest import Homeserver, UserClient

# What Element X's room list asks for (trimmed), and its open-room subscription.
ROOM_LIST_STATE = frozenset({
    ("m.room.name", ""), ("m.room.encryption", ""), ("m.room.member", "$LAZY"),
    ("m.room.member", "$ME"), ("m.room.topic", ""), ("m.room.avatar", ""),
    ("m.room.canonical_alias", ""), ("m.room.power_levels", ""), ("m.room.join_rules", ""),
    ("m.room.tombstone", ""), ("m.room.create", ""), ("m.room.history_visibility", ""),
    ("io.element.functional_members", ""), ("m.space.parent", "*"), ("m.space.child", "*"),
    ("org.matrix.msc3401.call.member", "*"), ("org.matrix.msc3672.beacon_info", "*"),
})  # fmt: skip


def config(limit: int = 1, *selectors: tuple[str, str]) -> RoomConfig:
    """A room config of `limit` timeline events and `selectors`."""
    return RoomConfig(limit, frozenset(selectors))


class RoomSession:
    """One user's connection, as far as room results see it."""

    def __init__(self, hs: Homeserver, user: UserClient) -> None:
        self._hs = hs
        self._requester = Requester(user.user_id, user.device_id, False)
        self.since: int | None = None
        self.memory: dict[str, RoomMemory] = {}

    def upto(self) -> int:
        return self._hs.runtime.positions.persisted_upto()

    async def build(
        self,
        room_id: str,
        room_config: RoomConfig,
        *,
        upto: int | None = None,
        membership: MembershipRecord | None = None,
    ) -> RoomResult | None:
        """One response holding this room (the requester's `membership`, read when not given);
        the next continues from where it ends."""
        runtime = self._hs.runtime
        upto = self.upto() if upto is None else upto
        if membership is None:
            membership = await SqlMembershipStore().get_membership(
                runtime.db, self._requester.user_id, room_id
            )
        assert membership is not None
        result = await runtime.services.room_results.build(
            self._requester, room_id, membership, room_config, self.memory.get(room_id),
            since=self.since, upto=upto,
        )  # fmt: skip
        self.since = upto
        if result is not None:
            self.memory[room_id] = result.memory
        return result

    async def payload(self, room_id: str, room_config: RoomConfig) -> dict[str, Any]:
        """The payload of a room that has news (fails the test otherwise)."""
        result = await self.build(room_id, room_config)
        assert result is not None
        assert result.news, result
        return result.payload


def state_keys(payload: dict[str, Any]) -> set[tuple[str, str]]:
    """(type, state_key) of a payload's required_state."""
    return {(e["type"], e["state_key"]) for e in payload.get("required_state", [])}


def bodies(payload: dict[str, Any]) -> list[str]:
    """Bodies of the messages of a payload's timeline, oldest first."""
    return [e["content"]["body"] for e in payload.get("timeline", []) if "body" in e["content"]]
