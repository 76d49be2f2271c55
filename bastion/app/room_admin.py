"""Wiring of the admin room services (services/admin/rooms.py, room_export.py, room_deletion.py),
called by wiring.py's room services.

Kept beside the composition root (only `app/` names concrete stores) so the shared wiring file
grows by a few lines: the room lists, the inventory export, the deletion jobs, and the event
hook that keeps blocked rooms closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.clock import Clock
from bastion.pubsub.base import Bus
from bastion.services.admin.room_blocks import RoomBlocks
from bastion.services.admin.room_deletion import (
    BlockedRooms,
    DeletionStores,
    RoomDeletion,
)
from bastion.services.admin.room_export import RoomExport
from bastion.services.admin.room_sizes import RoomSizes
from bastion.services.admin.room_summaries import RoomSummaries
from bastion.services.admin.rooms import RoomAdminService
from bastion.services.admin.scheduled_tasks import JobStores, ScheduledTasks
from bastion.services.audit.trail import AuditTrail
from bastion.services.event_hooks import EventHook
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.pipeline import EventPipeline
from bastion.store.database import Database
from bastion.store.sql.history_purges import SqlHistoryPurgeStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.moderation import SqlRedactionJobStore
from bastion.store.sql.room_admin import SqlRoomDeletionStore, SqlRoomInventoryStore
from bastion.store.sql.room_directory import SqlRoomDirectoryStore
from bastion.store.sql.room_sizes import room_size_store_for
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.state import SqlStateStore
from bastion.store.sql.users import SqlUserStore


@dataclass(frozen=True, slots=True)
class RoomAdminParts:
    """What the admin room services are built from (all built by wiring.py first)."""

    db: Database
    clock: Clock
    bus: Bus
    pipeline: EventPipeline
    creator: RoomCreator
    audit: AuditTrail
    server_name: str


def blocked_rooms_hook(db: Database) -> EventHook:
    """The pipeline hook refusing joins, invites and knocks into blocked rooms."""
    return BlockedRooms(db, SqlRoomDeletionStore())


def room_admin_services(parts: RoomAdminParts) -> dict[str, Any]:
    """`room_admin`, `room_export`, `room_blocks`, `room_sizes`, `room_deletion` and
    `scheduled_tasks` (the deletions listed with the other background jobs) for `Services`."""
    db, memberships, inventory = parts.db, SqlMembershipStore(), SqlRoomInventoryStore()
    summaries = RoomSummaries(db, inventory, server_name=parts.server_name)
    rooms = RoomAdminService(
        db, summaries, inventory=inventory, state=SqlStateStore(), memberships=memberships,
        audit=parts.audit, clock=parts.clock, server_name=parts.server_name,
    )  # fmt: skip
    deletion_stores = DeletionStores(
        SqlRoomDeletionStore(), SqlRoomStore(), memberships, SqlRoomDirectoryStore(),
        SqlUserStore(),
    )  # fmt: skip
    return {
        "room_admin": rooms,
        "room_export": RoomExport(rooms, parts.audit),
        "room_blocks": RoomBlocks(db, deletion_stores.jobs, parts.audit, parts.clock),
        "room_sizes": RoomSizes(db, room_size_store_for(db.dialect)),
        "room_deletion": RoomDeletion(
            db, deletion_stores, pipeline=parts.pipeline, creator=parts.creator,
            audit=parts.audit, bus=parts.bus, clock=parts.clock,
        ),
        "scheduled_tasks": ScheduledTasks(db, JobStores(
            deletion_stores.jobs, SqlHistoryPurgeStore(), SqlRedactionJobStore()
        )),
    }  # fmt: skip
