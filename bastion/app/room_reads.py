"""Wiring of the room read paths: the reader behind /messages, /state, /context and friends,
and room previews (initialSync and /events of one room), which share the /sync long poll.
Called once by wiring.py. A server admin's reads of the same (services/admin/room_reading.py)
are built here on the same reader."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.pubsub.base import SyncWaits
from bastion.services.admin.room_reading import AdminRoomReading
from bastion.services.audit.trail import AuditTrail
from bastion.services.ephemeral.typing import TypingService
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.long_poll import LongPoll
from bastion.services.rooms.peeking import RoomPeeking
from bastion.services.rooms.reading import RoomReader
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.sql.account_data import SqlAccountDataStore
from bastion.store.sql.devices import SqlDeviceStore
from bastion.store.sql.room_directory import SqlRoomDirectoryStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.users import SqlUserStore
from bastion.store.stream import PositionAllocator


@dataclass(frozen=True, slots=True)
class RoomReadParts:
    """What the room reads are built from: the runtime's parts, the read door, the stores."""

    db: Database
    positions: PositionAllocator
    waits: SyncWaits
    typing: TypingService  # the long poll's typing serial
    door: tuple[VisibilityService, EventFormatter]
    stores: tuple[SqlRoomStore, SqlAccountDataStore, SqlRoomDirectoryStore]
    audit: AuditTrail  # an admin's reads of a room's messages are audited


def room_reads(p: RoomReadParts) -> dict[str, Any]:
    """The `reader`, `admin_room_reading` and `peeking` services."""
    visibility, formatter = p.door
    rooms, account_data, directory = p.stores
    long_poll = LongPoll(p.db, (SqlDeviceStore(), SqlUserStore()), p.positions, p.waits, p.typing)
    reader = RoomReader(p.db, visibility, formatter, p.positions, rooms=rooms)
    return {
        "reader": reader,
        "admin_room_reading": AdminRoomReading(reader, visibility, formatter, p.audit),
        "peeking": RoomPeeking(
            p.db, visibility, formatter, p.positions, long_poll,
            account_data=account_data, directory=directory,
        ),
    }  # fmt: skip
