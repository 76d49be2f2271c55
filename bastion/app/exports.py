"""Wiring of compliance exports (services/export/), called by wiring.py.

Export archives live in the `exports` folder next to the media store (`media.store_path`'s
parent: `data/exports` by default), created 0700 when the first export runs.
"""

from __future__ import annotations

from pathlib import Path

from bastion.clock import Clock
from bastion.config import Config
from bastion.services.audit.trail import AuditTrail
from bastion.services.export.jobs import ComplianceExports
from bastion.services.export.writer import ExportSources, ExportWriter
from bastion.services.media.storage import LocalDirectoryStorage
from bastion.store.database import Database
from bastion.store.sql.exports import SqlExportStore


def export_root(config: Config) -> Path:
    """Where export archives are written."""
    return Path(config.media.store_path).parent / "exports"


def export_service(
    config: Config, db: Database, audit: AuditTrail, clock: Clock
) -> ComplianceExports:
    """The export jobs service."""
    store = SqlExportStore()
    media = LocalDirectoryStorage(Path(config.media.store_path))
    writer = ExportWriter(ExportSources(db, store, media, config.server_name))
    return ComplianceExports(db, store, writer, audit, clock, root=export_root(config))
