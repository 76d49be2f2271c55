"""How much each person stores (Synapse's `GET /_synapse/admin/v1/statistics/users/media`): the
number and total size of their uploads, for the admin deciding whose files to clean up. Counts
uploads only (not reservations), quarantined files included: they still take space."""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols.media import MediaUsageQuery, MediaUsageRow, MediaUsageStore

__all__ = ["USAGE_ORDERS", "MediaUsage", "MediaUsageQuery", "MediaUsageRow"]

USAGE_ORDERS = ("user_id", "displayname", "media_length", "media_count")


class MediaUsage:
    """Reads uploaded media counted per uploader."""

    def __init__(self, db: Database, store: MediaUsageStore) -> None:
        self._db, self._store = db, store

    async def by_user(
        self, actor: Principal, query: MediaUsageQuery
    ) -> tuple[list[MediaUsageRow], int]:
        """A page of uploaders and how many there are; 400 for an unknown order or an empty
        time range."""
        actor.require_admin()
        if query.order_by not in USAGE_ORDERS:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"order_by must be one of {', '.join(USAGE_ORDERS)}"
            )
        since, until = query.from_ts, query.until_ts
        if since is not None and until is not None and until < since:
            raise MatrixError(400, Errcode.INVALID_PARAM, "until_ts must be greater than from_ts")
        return await self._store.usage_by_user(self._db, query)
