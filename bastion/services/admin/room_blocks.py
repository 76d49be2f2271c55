"""Blocking a room (Synapse's Block Room API): no local user may join it, be invited into it or
knock on it while it is blocked (`room_deletion.BlockedRooms`, the pipeline hook every such
membership passes). A room may be blocked before this server knows it, so that nobody here can
ever join it; blocking removes nobody already in (deleting the room does that: room_deletion.py).

The same list as the room deletion's `block: true`: unblocking lifts either. Each change is
audited `room.block` / `room.unblock` (asking for what already holds changes and records
nothing).
"""

from __future__ import annotations

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_room_id
from bastion.services.audit.trail import AuditTrail
from bastion.services.principal import Principal, log_admin_action
from bastion.store.database import Database
from bastion.store.protocols.room_admin import RoomDeletionStore


class RoomBlocks:
    """Reads and changes whether a room is blocked."""

    def __init__(
        self, db: Database, store: RoomDeletionStore, audit: AuditTrail, clock: Clock
    ) -> None:
        self._db, self._store, self._audit, self._clock = db, store, audit, clock

    async def blocked_by(self, actor: Principal, room_id: str) -> str | None:
        """Who blocked the room, or None when it is not blocked."""
        actor.require_admin()
        _require_room_id(room_id)
        return await self._store.blocked_by(self._db, room_id)

    async def set_blocked(self, actor: Principal, room_id: str, blocked: bool) -> None:
        """Block or unblock the room (known here or not)."""
        actor.require_admin()
        _require_room_id(room_id)
        async with self._db.transaction() as t:
            was = await self._store.blocked_by(t, room_id)
            if blocked and was is None:
                await self._store.block(t, room_id, actor.audit_id, self._clock.now_ms())
                await self._audit.record(t, actor, "room.block", room_id, {})
            elif not blocked and was is not None:
                await self._store.unblock(t, room_id)
                await self._audit.record(t, actor, "room.unblock", room_id, {"blocked_by": was})
            else:
                return
        log_admin_action(actor, f"{'blocked' if blocked else 'unblocked'} {room_id}")


def _require_room_id(room_id: str) -> None:
    if not is_valid_room_id(room_id):
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{room_id!r} is not a room ID")
