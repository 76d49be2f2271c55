"""A leaver's files, when their offboarding erases (services/offboarding/erasure.py, step
`files`): their messages are pruned first, then each file they uploaded that nothing stored
names any more (no remaining event, kept redacted or held original, or profile: the retention
purge's own test, `delete_unreferenced_media`) is deleted, its row in the job's transaction and
its bytes after the commit.

Kept, and counted: a file an event still names: one of their state events (a room avatar they
set: rooms stand on their state), a message a legal hold kept, or someone else's message that
forwarded it. A crash between the commit and the file deletion leaves bytes without a row, never
served and never a row without its bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bastion.services.media.storage import MediaStorage, remove_stored_files
from bastion.store.database import Queryable
from bastion.store.protocols import MediaAdminStore
from bastion.store.protocols.compliance import DeletedMedia


class UnreferencedMedia(Protocol):
    """The retention store's deletion of media nothing names (store/sql/retention.py)."""

    async def delete_unreferenced_media(
        self, q: Queryable, server_name: str, media_ids: Sequence[str]
    ) -> list[DeletedMedia]: ...


class UploadErasure:
    """Deletes the uploads of an erased account that nothing names any more."""

    def __init__(
        self,
        uploads: MediaAdminStore,
        unreferenced: UnreferencedMedia,
        storage: MediaStorage,
        server_name: str,
    ) -> None:
        self._uploads, self._unreferenced = uploads, unreferenced
        self._storage, self._server_name = storage, server_name

    async def delete_rows(self, q: Queryable, user_id: str) -> tuple[list[DeletedMedia], int]:
        """In `q`'s transaction: (the deleted uploads, how many were kept as still named)."""
        uploads = await self._uploads.uploads_of(q, user_id)
        deleted = await self._unreferenced.delete_unreferenced_media(q, self._server_name, uploads)
        return deleted, len(uploads) - len(deleted)

    async def delete_files(self, deleted: Sequence[DeletedMedia]) -> None:
        """After the commit: the deleted uploads' bytes and thumbnails."""
        await remove_stored_files(self._storage, deleted)
