"""The wiring of the media repository: uploads and downloads, thumbnails, URL previews, and
what admins do to files (quarantine, deletion) and how much each person stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastion.clock import Clock
from bastion.config import Config
from bastion.services.audit.trail import AuditTrail
from bastion.services.media.admin import MediaAdmin
from bastion.services.media.previews import UrlPreviews
from bastion.services.media.service import MediaService
from bastion.services.media.storage import LocalDirectoryStorage
from bastion.services.media.thumbnails import ThumbnailService
from bastion.services.media.url_fetch import DEFAULT_DENIED_RANGES, AddressRules, UrlFetcher
from bastion.services.media.usage import MediaUsage
from bastion.store.database import Database
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.media import SqlMediaStore
from bastion.store.sql.media_admin import SqlMediaAdminStore
from bastion.store.sql.media_usage import SqlMediaUsageStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.users import SqlUserStore


def media_services(
    config: Config, db: Database, clock: Clock, admin: tuple[AuditTrail, SqlUserStore]
) -> dict[str, Any]:
    """`media`, `thumbnails` and `url_previews` (whose fetcher exists only when they are on),
    `media_admin` and `media_usage`."""
    store = SqlMediaStore()
    settings = config.media
    storage = LocalDirectoryStorage(Path(settings.store_path))
    media = MediaService(db, store, storage, clock, settings, server_name=config.server_name)
    fetcher = None
    if settings.url_previews:
        rules = AddressRules(
            [*DEFAULT_DENIED_RANGES, *settings.url_preview_denied_ranges],
            settings.url_preview_allowed_ranges,
        )
        fetcher = UrlFetcher(
            rules,
            timeout_s=settings.url_preview_timeout_seconds,
            max_bytes=settings.url_preview_max_bytes,
        )
    return {
        "media": media,
        "thumbnails": ThumbnailService(db, store, storage, media, clock),
        "url_previews": UrlPreviews(fetcher, media, clock),
        "media_usage": MediaUsage(db, SqlMediaUsageStore()),
        "media_admin": MediaAdmin(
            db, (SqlMediaAdminStore(), store, SqlRoomStore(), admin[1], SqlEventStore()), storage,
            audit=admin[0], clock=clock, server_name=config.server_name,
        ),
    }  # fmt: skip
