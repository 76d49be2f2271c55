"""Server-side key backup (spec: client-server-api#server-side-key-backups).

Only the newest backup version accepts keys (403 M_WRONG_ROOM_KEYS_VERSION otherwise). A stored
session is replaced only by a better one: verified beats unverified, then a lower
first_message_index, then a lower forwarded_count. Every write bumps the version's etag.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.typed_json import NonNegativeInt
from bastion.json_types import JsonObject
from bastion.services.principal import Requester
from bastion.store.database import Database, Queryable
from bastion.store.protocols import KeyBackupStore
from bastion.store.records import BackupSession, BackupVersion


class KeyBackupData(msgspec.Struct, frozen=True):
    """One backed-up session as clients send it."""

    first_message_index: NonNegativeInt
    forwarded_count: NonNegativeInt
    is_verified: bool
    session_data: dict[str, Any]


class BackupVersionBody(msgspec.Struct, frozen=True):
    """Body of creating or updating a backup version."""

    algorithm: str
    auth_data: dict[str, Any]
    version: str | None = None


def parse_version(raw: str | None) -> int:
    """A backup version from a path or query; 404 for anything that is not one of ours."""
    if raw is None:
        raise MatrixError(400, Errcode.MISSING_PARAM, "version is required")
    if not raw.isdigit() or len(raw) > 18:
        raise MatrixError(404, Errcode.NOT_FOUND, f"unknown backup version {raw!r}")
    return int(raw)


def _better(new: KeyBackupData, old: BackupSession) -> bool:
    if new.is_verified != old.is_verified:
        return new.is_verified
    if new.first_message_index != old.first_message_index:
        return new.first_message_index < old.first_message_index
    return new.forwarded_count < old.forwarded_count


def session_json(session: BackupSession) -> JsonObject:
    """A stored session in the client format."""
    return {
        "first_message_index": session.first_message_index,
        "forwarded_count": session.forwarded_count,
        "is_verified": session.is_verified,
        "session_data": session.session_data,
    }


class KeyBackupService:
    """Backup versions and their room keys, private to each user."""

    def __init__(self, db: Database, store: KeyBackupStore) -> None:
        self._db = db
        self._store = store

    async def create_version(self, requester: Requester, body: BackupVersionBody) -> str:
        async with self._db.transaction() as t:
            version = await self._store.create_version(
                t, requester.user_id, body.algorithm, body.auth_data
            )
        return str(version)

    async def version_info(self, requester: Requester, raw_version: str | None) -> JsonObject:
        """A version (the newest when `raw_version` is None) with its key count and etag."""
        version = None if raw_version is None else parse_version(raw_version)
        found = await self._store.get_version(self._db, requester.user_id, version)
        if found is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "no such backup version")
        count = await self._store.count_sessions(self._db, requester.user_id, found.version)
        return {
            "algorithm": found.algorithm,
            "auth_data": found.auth_data,
            "count": count,
            "etag": str(found.etag),
            "version": str(found.version),
        }

    async def update_version(
        self, requester: Requester, raw_version: str, body: BackupVersionBody
    ) -> None:
        version = await self._require(requester, parse_version(raw_version), newest=False)
        if body.version is not None and body.version != raw_version:
            raise MatrixError(400, Errcode.INVALID_PARAM, "version in body does not match the path")
        if body.algorithm != version.algorithm:
            raise MatrixError(400, Errcode.INVALID_PARAM, "the algorithm of a backup cannot change")
        async with self._db.transaction() as t:
            await self._store.update_auth_data(
                t, requester.user_id, version.version, body.auth_data
            )

    async def delete_version(self, requester: Requester, raw_version: str) -> None:
        version = await self._require(requester, parse_version(raw_version), newest=False)
        async with self._db.transaction() as t:
            await self._store.delete_version(t, requester.user_id, version.version)

    async def put_keys(
        self,
        requester: Requester,
        raw_version: str | None,
        rooms: dict[str, dict[str, KeyBackupData]],
    ) -> JsonObject:
        """Store sessions ({room: {session: data}}); returns the new etag and count."""
        version = await self._require(requester, parse_version(raw_version), newest=True)
        async with self._db.transaction() as t:
            for room_id, sessions in rooms.items():
                for session_id, data in sessions.items():
                    await self._put_one(
                        t, requester.user_id, version.version, room_id, session_id, data
                    )
            await self._store.bump_etag(t, requester.user_id, version.version)
        return await self._etag_and_count(requester, version.version)

    async def _put_one(
        self,
        t: Queryable,
        user_id: str,
        version: int,
        room_id: str,
        session_id: str,
        data: KeyBackupData,
    ) -> None:
        old = await self._store.get_session(t, user_id, version, room_id, session_id)
        if old is not None and not _better(data, old):
            return
        session = BackupSession(
            room_id,
            session_id,
            data.first_message_index,
            data.forwarded_count,
            data.is_verified,
            data.session_data,
        )
        await self._store.put_session(t, user_id, version, session)

    async def get_keys(
        self,
        requester: Requester,
        raw_version: str | None,
        room_id: str | None,
        session_id: str | None,
    ) -> list[BackupSession]:
        version = await self._require(requester, parse_version(raw_version), newest=False)
        return await self._store.sessions(
            self._db, requester.user_id, version.version, room_id=room_id, session_id=session_id
        )

    async def delete_keys(
        self,
        requester: Requester,
        raw_version: str | None,
        room_id: str | None,
        session_id: str | None,
    ) -> JsonObject:
        version = await self._require(requester, parse_version(raw_version), newest=False)
        async with self._db.transaction() as t:
            await self._store.delete_sessions(
                t, requester.user_id, version.version, room_id=room_id, session_id=session_id
            )
            await self._store.bump_etag(t, requester.user_id, version.version)
        return await self._etag_and_count(requester, version.version)

    async def _require(self, requester: Requester, version: int, *, newest: bool) -> BackupVersion:
        found = await self._store.get_version(self._db, requester.user_id, version)
        if found is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no backup version {version}")
        if newest:
            latest = await self._store.get_version(self._db, requester.user_id, None)
            if latest is not None and latest.version != found.version:
                raise MatrixError(
                    403,
                    Errcode.WRONG_ROOM_KEYS_VERSION,
                    "this is not the current backup version",
                    {"current_version": str(latest.version)},
                )
        return found

    async def _etag_and_count(self, requester: Requester, version: int) -> JsonObject:
        found = await self._store.get_version(self._db, requester.user_id, version)
        count = await self._store.count_sessions(self._db, requester.user_id, version)
        return {"etag": str(found.etag if found else 0), "count": count}
