"""Wiring of legal holds, the roles that may place them, and the retention purge, called by
wiring.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastion.clock import Clock
from bastion.config import Config
from bastion.services.audit.trail import AuditTrail
from bastion.services.legal_hold.holds import LegalHolds
from bastion.services.legal_hold.roles import Roles
from bastion.services.media.storage import LocalDirectoryStorage
from bastion.services.retention.history_purge import HistoryPurges, HistoryPurgeStores
from bastion.services.retention.policy import RoomRetention
from bastion.services.retention.purge import RetentionPurge
from bastion.store.database import Database
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.history_purges import SqlHistoryPurgeStore
from bastion.store.sql.holds import SqlHoldStore, SqlRoleStore
from bastion.store.sql.retention import retention_store_for
from bastion.store.sql.rooms import SqlRoomStore


def compliance_services(
    config: Config,
    db: Database,
    clock: Clock,
    stores: tuple[RoomRetention, SqlHoldStore],
    audit: AuditTrail,
) -> dict[str, Any]:
    """`roles`, `legal_holds`, `retention_purge` and `history_purges` of `Services`."""
    retention, holds = stores
    roles = Roles(db, SqlRoleStore(), audit, clock)
    retention_store = retention_store_for(db.dialect)
    media = (LocalDirectoryStorage(Path(config.media.store_path)), config.server_name)
    purge_stores = HistoryPurgeStores(
        SqlHistoryPurgeStore(), retention_store, SqlEventStore(), SqlRoomStore()
    )
    return {
        "roles": roles,
        "legal_holds": LegalHolds(db, holds, roles, audit, clock),
        "retention_purge": RetentionPurge(
            db, (retention_store, holds), retention, clock, audit=audit, media=media
        ),
        "history_purges": HistoryPurges(db, purge_stores, audit, clock, media=media),
    }
