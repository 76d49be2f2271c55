"""What an admin does to uploaded files (Synapse's media admin API, `api/admin/synapse/media.py`):
look one up, quarantine it (one file, every file of a room, every upload of a user), release it,
list a room's files, delete one.

Why quarantine before deletion: redacting a message takes it out of the room, but its file stays
downloadable by anyone who kept the `mxc://` URI (a patient letter, an offensive image).
Quarantine takes the file out of reach at once and keeps the bytes, which a legal hold or a
compliance export may still need: downloads and thumbnails answer 404 as for unknown media
(`MediaService`'s one lookup), and an upload of the same bytes is refused, so it cannot simply be
shared again. Quarantining one file quarantines every upload of the same bytes.

Deletion removes the row, its thumbnails and the files, and is refused (403) while a legal hold
needs the file: an event or kept original a hold covers names it, or a hold names its uploader;
quarantine is the way to take such a file out of reach. Every change is audited
(`media.quarantine`, `media.unquarantine`, `media.delete`) in its own transaction; a file that was
already as asked changes nothing and is not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.media.mxc import (
    content_uri,
    local_media_id,
    mxc_uris_in,
    mxc_uris_in_stored,
    require_local_media_id,
)
from bastion.services.media.service import Download
from bastion.services.media.storage import MediaStorage, StorageKey, remove_stored_files
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols import EventStore, MediaAdminStore, MediaStore, RoomStore, UserStore
from bastion.store.protocols.compliance import DeletedMedia
from bastion.store.records import MediaRecord

log = logging.getLogger(__name__)

SECONDS_MISTAKE_BELOW_MS = 30_000_000_000  # Synapse's: a `before_ts` in seconds reads as 1970
_BATCH = 100  # files deleted in one transaction (each checked against the legal holds)
_AVATAR_PAGE = 1000  # current state events read at once, whatever the rooms' size


class MediaAdmin:
    """Admin actions on media, each checked, audited and applied in one transaction."""

    def __init__(
        self,
        db: Database,
        stores: tuple[MediaAdminStore, MediaStore, RoomStore, UserStore, EventStore],
        storage: MediaStorage,
        *,
        audit: AuditTrail,
        clock: Clock,
        server_name: str,
    ) -> None:
        self._db, self._storage, self._audit, self._clock = db, storage, audit, clock
        self._store, self._media, self._rooms, self._users, self._events = stores
        self._server_name = server_name

    async def info(self, actor: Principal, server_name: str, media_id: str) -> MediaRecord:
        """One file's record, quarantined or not; 404 when unknown."""
        actor.require_admin()
        return await self._require_media(server_name, media_id)

    async def quarantine(self, actor: Principal, server_name: str, media_id: str) -> int:
        """Quarantine a file and every upload of the same bytes; how many were newly
        quarantined."""
        actor.require_admin()
        media = await self._require_media(server_name, media_id)
        same = await self._store.same_files(self._db, media.media_id)
        return await self._set(actor, same, quarantine=True, scope={"media_id": media.media_id})

    async def unquarantine(self, actor: Principal, server_name: str, media_id: str) -> int:
        """Release one file (not its copies: each is released by itself)."""
        actor.require_admin()
        media = await self._require_media(server_name, media_id)
        return await self._set(
            actor, [media.media_id], quarantine=False, scope={"media_id": media.media_id}
        )

    async def room_media(self, actor: Principal, room_id: str) -> tuple[list[str], list[str]]:
        """(this server's, other servers') `mxc://` URIs the room's events name, sorted."""
        actor.require_admin()
        await self._require_room(room_id)
        local, remote = set(), set()
        prefix = f"mxc://{self._server_name}/"
        for uri in mxc_uris_in_stored(await self._store.room_contents(self._db, room_id)):
            if local_media_id(self._server_name, uri) is not None:
                local.add(uri)
            elif not uri.startswith(prefix):  # a malformed URI of ours names nothing
                remote.add(uri)
        return sorted(local), sorted(remote)

    async def quarantine_room(self, actor: Principal, room_id: str) -> int:
        """Quarantine every file of this server the room's events name."""
        local, _remote = await self.room_media(actor, room_id)
        media_ids = [m for uri in local if (m := local_media_id(self._server_name, uri))]
        return await self._set(actor, media_ids, quarantine=True, scope={"room_id": room_id})

    async def files_of_event(self, actor: Principal, room_id: str, event_id: str) -> list[str]:
        """The IDs of this server's uploaded files an event of the room names (a message being
        removed: the console offers to quarantine them too); 404 for an event not in the room."""
        actor.require_admin()
        event = await self._events.get_event(self._db, event_id)
        if event is None or event.room_id != room_id:
            raise MatrixError(404, Errcode.NOT_FOUND, "event not found")
        named = {local_media_id(self._server_name, uri) for uri in mxc_uris_in(event.content)}
        found = sorted(m for m in named if m is not None)
        return [m for m in found if await self._media.get_media(self._db, m) is not None]

    async def quarantine_event(self, actor: Principal, room_id: str, event_id: str) -> int:
        """Quarantine the files an event names, before it is redacted (while its content is
        still there to read)."""
        media_ids = await self.files_of_event(actor, room_id, event_id)
        return await self._set(actor, media_ids, quarantine=True, scope={"event_id": event_id})

    async def quarantine_user(self, actor: Principal, user_id: str) -> int:
        """Quarantine every file the user uploaded."""
        actor.require_admin()
        if await self._users.get_user(self._db, user_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no such user {user_id}")
        media_ids = await self._store.uploads_of(self._db, user_id)
        return await self._set(actor, media_ids, quarantine=True, scope={"user_id": user_id})

    async def delete(self, actor: Principal, server_name: str, media_id: str) -> list[str]:
        """Delete a file (its row, thumbnails and bytes); the IDs deleted. 403 M_FORBIDDEN
        while a legal hold needs it."""
        actor.require_admin()
        media = await self._require_media(server_name, media_id)
        deleted, held = await self._delete(actor, [media.media_id], {"media_id": media.media_id})
        if held:
            raise MatrixError(
                403,
                Errcode.FORBIDDEN,
                "a legal hold needs this file: quarantine it to take it out of reach",
            )
        if not deleted:
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown media ID")
        return deleted

    def purge_remote_cache(self, actor: Principal, before_ts: int) -> int:
        """Synapse's purge of other servers' cached files: how many went. Bastion never fetches
        another server's media (no federation), so there is no cache and none goes; the
        parameter is still checked as Synapse checks it, so a script's mistake shows."""
        actor.require_admin()
        _check_before_ts(before_ts)
        return 0

    async def delete_unused(
        self,
        actor: Principal,
        before_ts: int,
        size_gt: int,
        *,
        keep_avatars: bool,
        server_name: str | None = None,
    ) -> list[str]:
        """Delete the uploads nobody has fetched since `before_ts` (never fetched: uploaded
        before it) larger than `size_gt` bytes: not quarantined or protected ones, not those a
        legal hold needs, and, with `keep_avatars`, not a profile's or a room's avatar (Synapse's
        deletion by date; `server_name` from its deprecated path, ours or 400). The IDs
        deleted."""
        actor.require_admin()
        if server_name not in (None, self._server_name):
            raise MatrixError(400, Errcode.INVALID_PARAM, "Can only delete local media")
        if size_gt < 0:
            raise MatrixError(400, Errcode.INVALID_PARAM, "before_ts and size_gt must be >= 0")
        _check_before_ts(before_ts)
        if before_ts > self._clock.now_ms():  # microseconds, likely: it would delete everything
            raise MatrixError(400, Errcode.INVALID_PARAM, "before_ts must be in the past")
        media_ids = await self._store.unused_uploads(self._db, before_ts, size_gt)
        if keep_avatars and media_ids:
            avatars = await self._avatars()
            uri = f"mxc://{self._server_name}/"
            media_ids = [m for m in media_ids if uri + m not in avatars]
        scope = {"before_ts": str(before_ts), "size_gt": str(size_gt)}

        def still_unused(media: MediaRecord) -> bool:  # read again in the deleting transaction
            last_used = media.last_access_ts or media.uploaded_ts or 0
            kept = media.quarantined_ts is not None or media.safe_from_quarantine
            return not kept and last_used < before_ts

        deleted, _held = await self._delete(actor, media_ids, scope, still=still_unused)
        return deleted

    async def delete_uploads(
        self, actor: Principal, user_id: str, media_ids: Sequence[str]
    ) -> list[str]:
        """Delete these uploads of the user's (a page of their list: Synapse's deletion of a
        user's media), except those a legal hold needs. The IDs deleted."""
        actor.require_admin()
        deleted, _held = await self._delete(actor, list(media_ids), {"user_id": user_id})
        return deleted

    async def protect(self, actor: Principal, media_id: str, *, protected: bool) -> None:
        """Protect an uploaded file from quarantine, or stop: 404 for an unknown one."""
        actor.require_admin()
        media = await self._require_media(self._server_name, media_id)
        async with self._db.transaction() as t:
            if await self._store.set_protected(t, media.media_id, protected):
                action = "media.protect" if protected else "media.unprotect"
                await self._audit.record(t, actor, action, media.media_id, {})

    async def download_quarantined(
        self, actor: Principal, server_name: str, media_id: str
    ) -> Download:
        """An uploaded file for an admin who asked to bypass quarantine, quarantined or not
        (Synapse's `admin_unsafely_bypass_quarantine`); opening a quarantined one is audited
        `media.bypass_quarantine`."""
        actor.require_admin()
        media = await self._require_media(server_name, media_id)
        if media.quarantined_ts is not None:
            async with self._db.transaction() as t:
                details = {"quarantined_by": media.quarantined_by or ""}
                await self._audit.record(t, actor, "media.bypass_quarantine", media_id, details)
        file = await self._storage.open(StorageKey(media.media_id))
        if file is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown media ID")
        return Download(media, file)

    async def _delete(
        self,
        actor: Principal,
        media_ids: list[str],
        scope: dict[str, str],
        *,
        still: Callable[[MediaRecord], bool] = lambda _media: True,
    ) -> tuple[list[str], int]:
        """Delete the files no legal hold needs (and that `still` accepts as they are read in
        the deleting transaction: a file downloaded or quarantined since it was chosen stays),
        `_BATCH` to a transaction, each batch audited `media.delete` with what it deleted; their
        bytes after each commit. (deleted, held)."""
        deleted_ids: list[str] = []
        held = 0
        for start in range(0, len(media_ids), _BATCH):
            deleted: list[DeletedMedia] = []
            uploaders: set[str] = set()
            async with self._db.transaction() as t:
                for media_id in media_ids[start : start + _BATCH]:
                    media = await self._media.get_media(t, media_id)
                    if media is None or media.uploaded_ts is None or not still(media):
                        continue
                    uri = content_uri(self._server_name, media_id)
                    if await self._store.held_reference(t, uri, media.user_id):
                        held += 1
                    elif (gone := await self._store.delete_media(t, media_id)) is not None:
                        deleted.append(gone)
                        uploaders.add(media.user_id)
                if deleted:
                    ids = [d.media_id for d in deleted]
                    details = {**scope, "files": len(ids), "media_ids": ids}
                    details["uploaders"] = sorted(uploaders)
                    one = content_uri(self._server_name, ids[0])
                    target = one if len(ids) == 1 else next(iter(scope.values()))
                    await self._audit.record(t, actor, "media.delete", target, details)
            await remove_stored_files(self._storage, deleted)  # after the commit
            deleted_ids.extend(d.media_id for d in deleted)
        return deleted_ids, held

    async def _avatars(self) -> set[str]:
        """This server's `mxc://` URIs in use as a profile's or a room's (or a member's) avatar."""
        prefix = f"mxc://{self._server_name}/"
        found = set(await self._store.profile_avatars(self._db, prefix))
        after = -1
        while True:
            page = await self._store.avatar_state(self._db, prefix, after, _AVATAR_PAGE)
            found |= mxc_uris_in_stored(pdu for _position, pdu in page)
            if len(page) < _AVATAR_PAGE:
                return found
            after = page[-1][0]

    async def _set(
        self,
        actor: Principal,
        media_ids: list[str],
        *,
        quarantine: bool,
        scope: dict[str, str],
    ) -> int:
        """Quarantine (or release) `media_ids`, audited once with what changed."""
        by = actor.audit_id if quarantine else None
        async with self._db.transaction() as t:
            changed = await self._store.set_quarantine(t, media_ids, by, self._clock.now_ms())
            if changed:
                action = "media.quarantine" if quarantine else "media.unquarantine"
                target = next(iter(scope.values()))
                details = {**scope, "files": changed, "media_ids": media_ids[:100]}
                await self._audit.record(t, actor, action, target, details)
        return changed

    async def _require_media(self, server_name: str, media_id: str) -> MediaRecord:
        media_id = require_local_media_id(self._server_name, server_name, media_id)
        media = await self._media.get_media(self._db, media_id)
        if media is None or media.uploaded_ts is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "unknown media ID")
        return media

    async def _require_room(self, room_id: str) -> None:
        if await self._rooms.get_room(self._db, room_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")


def _check_before_ts(before_ts: int) -> None:
    """Synapse's checks of a `before_ts` in ms (a time in seconds reads as 1970)."""
    if before_ts < 0:
        raise MatrixError(400, Errcode.INVALID_PARAM, "before_ts and size_gt must be >= 0")
    if before_ts < SECONDS_MISTAKE_BELOW_MS:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, "before_ts is in 1970: give it in milliseconds"
        )
