"""Wiring of simplified sliding sync (services/sliding_sync/): the connection store, the lists,
the room results and extensions (built beside /sync, from the same streams), the shared
long-poll loop. Called once by wiring.py."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.pubsub.base import SyncWaits
from bastion.services.ephemeral.typing import TypingService
from bastion.services.long_poll import LongPoll
from bastion.services.presence.service import PresenceService
from bastion.services.sliding_sync.connection import Connections
from bastion.services.sliding_sync.extensions.registry import ExtensionParts, build_extensions
from bastion.services.sliding_sync.lists import RoomLists
from bastion.services.sliding_sync.room_results import RoomResults
from bastion.services.sliding_sync.service import SlidingSyncParts, SlidingSyncService
from bastion.services.sync.service import SyncService
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.sql.account_data import SqlAccountDataStore
from bastion.store.sql.devices import SqlDeviceStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.sliding_sync import SqlSlidingSyncStore
from bastion.store.sql.sync_probe import SqlSyncProbeStore
from bastion.store.sql.users import SqlUserStore
from bastion.store.stream import PositionAllocator

# A connection unused for this long is forgotten (its next request gets M_UNKNOWN_POS).
CONNECTION_MAX_IDLE_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class SlidingSyncWiring:
    """What sliding sync is built from: the runtime's parts and services already wired."""

    db: Database
    clock: Clock
    positions: PositionAllocator
    waits: SyncWaits
    room_results: RoomResults
    sync: SyncService  # its streams feed the extensions
    presence: PresenceService
    typing: TypingService
    visibility: VisibilityService  # invites from ignored users stay hidden


def sliding_sync_service(w: SlidingSyncWiring) -> SlidingSyncService:
    """The service behind both sliding-sync endpoints."""
    store = SqlSlidingSyncStore()
    memberships, account_data = SqlMembershipStore(), SqlAccountDataStore()
    extensions = build_extensions(
        ExtensionParts(
            w.db, w.sync.encryption, w.sync.ephemeral, w.sync.push, account_data, memberships
        )
    )
    return SlidingSyncService(
        SlidingSyncParts(
            db=w.db,
            memberships=memberships,
            invites=w.visibility,
            connections=Connections(w.db, store, w.clock, max_idle_ms=CONNECTION_MAX_IDLE_MS),
            lists=RoomLists(w.db, store, account_data),
            rooms=w.room_results,
            probe=SqlSyncProbeStore(),
            extensions=extensions,
            long_poll=LongPoll(
                w.db, (SqlDeviceStore(), SqlUserStore()), w.positions, w.waits, w.typing
            ),
            presence=w.presence,
        )
    )
