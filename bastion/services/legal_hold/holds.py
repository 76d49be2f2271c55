"""Placing, listing and releasing legal holds (audited: `hold.place`, `hold.release`).

A hold names users (everything they sent, in any room, including rooms they left) and rooms
(everything in them). While it is active, the retention purge, redacted-content pruning and
offboarding's erase skip what it covers (in their SQL), and redacted held events keep their
original in the hold store. A hold on a room extends to the room that replaces it
(`room_upgraded`). Placing copies originals already redacted into the hold store in
the same transaction; releasing drops the copies no other active hold covers. Only server
admins and users with the `compliance` role may act.
"""

from __future__ import annotations

import re
import secrets

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.legal_hold.roles import COMPLIANCE, Roles
from bastion.services.principal import Principal, ServerActor
from bastion.store.database import Database
from bastion.store.protocols.compliance import HoldRow, HoldStore

__all__ = ["HoldRow", "HoldSpec", "LegalHolds"]  # HoldRow re-exported for the API layer

_USER_ID = re.compile(r"^@[^:\s]+:\S+$")
_ROOM_ID = re.compile(r"^![^\s]+$")
MAX_MEMBERS = 1000
_PAGE = 100


class HoldSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What `POST /holds` asks for."""

    case: str
    reason: str = ""
    users: list[str] = []
    rooms: list[str] = []


class LegalHolds:
    """The holds, for admins and compliance officers."""

    def __init__(
        self, db: Database, holds: HoldStore, roles: Roles, audit: AuditTrail, clock: Clock
    ) -> None:
        self._db, self._holds, self._roles, self._audit, self._clock = (
            db, holds, roles, audit, clock
        )  # fmt: skip

    async def place(self, actor: Principal, spec: HoldSpec) -> HoldRow:
        """Place a hold; 400 when it names nothing or something that is not a user/room ID."""
        await self._roles.require_role(actor, COMPLIANCE)
        async with self._audit.attempt(actor, "hold.place"):
            _validate(spec)
            now = self._clock.now_ms()
            hold = HoldRow(
                hold_id=f"hold_{now:013d}_{secrets.token_hex(4)}", case=spec.case,
                reason=spec.reason, users=sorted(set(spec.users)), rooms=sorted(set(spec.rooms)),
                created_by=actor.audit_id, created_ts=now,
            )  # fmt: skip
            async with self._db.transaction() as t:
                await self._holds.insert_hold(t, hold)
                kept = await self._holds.keep_held_originals(t, now)
                details = {"case": hold.case, "users": hold.users, "rooms": hold.rooms,
                           "reason": hold.reason, "originals_kept": kept}  # fmt: skip
                await self._audit.record(t, actor, "hold.place", hold.hold_id, details)
        return hold

    async def list(self, actor: Principal, *, after: str, limit: int) -> list[HoldRow]:
        """Holds in the order they were placed, after the hold ID `after`."""
        await self._roles.require_role(actor, COMPLIANCE)
        return await self._holds.list_holds(self._db, after=after, limit=limit)

    async def release(self, actor: Principal, hold_id: str) -> HoldRow:
        """Release a hold: 404 if unknown, 400 if already released."""
        await self._roles.require_role(actor, COMPLIANCE)
        async with self._audit.attempt(actor, "hold.release", hold_id):
            now = self._clock.now_ms()
            async with self._db.transaction() as t:
                hold = await self._holds.get_hold(t, hold_id)
                if hold is None:
                    raise MatrixError(404, Errcode.NOT_FOUND, f"no hold {hold_id!r}")
                if not await self._holds.release_hold(t, hold_id, actor.audit_id, now):
                    raise MatrixError(400, Errcode.INVALID_PARAM, f"hold {hold_id!r} is released")
                dropped = await self._holds.drop_unheld_originals(t)
                await self._audit.record(
                    t, actor, "hold.release", hold_id, {"originals_dropped": dropped}
                )
        return msgspec.structs.replace(hold, released_by=actor.audit_id, released_ts=now)

    async def room_upgraded(self, old_room: str, new_room: str) -> None:
        """A room was upgraded (services/rooms/upgrade.py): each active hold naming it gets a
        hold of its own on the new room, same case, placed (and audited) by the server, so
        what people write after the upgrade is held as what they wrote before was."""
        actor = ServerActor("room upgrade")
        after = ""
        while page := await self._holds.list_holds(self._db, after=after, limit=_PAGE):
            for hold in page:
                if hold.released_ts is None and old_room in hold.rooms:
                    reason = f"{hold.hold_id} continues in {new_room}, which replaced {old_room}"
                    await self.place(actor, HoldSpec(hold.case, reason, rooms=[new_room]))
            after = page[-1].hold_id


def _validate(spec: HoldSpec) -> None:
    if not spec.case.strip():
        raise MatrixError(400, Errcode.INVALID_PARAM, "case must not be empty")
    if not spec.users and not spec.rooms:
        raise MatrixError(400, Errcode.INVALID_PARAM, "a hold must name users or rooms")
    if len(spec.users) + len(spec.rooms) > MAX_MEMBERS:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"at most {MAX_MEMBERS} users and rooms")
    for user_id in spec.users:
        if not _USER_ID.match(user_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, f"{user_id!r} is not a user ID")
    for room_id in spec.rooms:
        if not _ROOM_ID.match(room_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, f"{room_id!r} is not a room ID")
