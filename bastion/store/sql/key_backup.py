"""SQL for server-side key backup (`key_backup_versions`, `key_backup_sessions`).

The server holds encrypted session keys only (`session_data` is opaque to it)."""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.store.database import Queryable
from bastion.store.records import BackupSession, BackupVersion

_decoder = msgspec.json.Decoder()


class SqlKeyBackupStore:
    """Backup versions and the room keys in them."""

    async def create_version(
        self, q: Queryable, user_id: str, algorithm: str, auth_data: dict[str, Any]
    ) -> int:
        latest = await q.fetch_val(
            "SELECT MAX(version) FROM key_backup_versions WHERE user_id = ?", user_id
        )
        version = int(latest or 0) + 1
        await q.execute(
            "INSERT INTO key_backup_versions (user_id, version, algorithm, auth_data)"
            " VALUES (?, ?, ?, ?)",
            user_id,
            version,
            algorithm,
            msgspec.json.encode(auth_data).decode(),
        )
        return version

    async def get_version(
        self, q: Queryable, user_id: str, version: int | None
    ) -> BackupVersion | None:
        """A live version, or the newest live one when `version` is None."""
        if version is None:
            row = await q.fetch_one(
                "SELECT version, algorithm, auth_data, etag FROM key_backup_versions"
                " WHERE user_id = ? AND deleted = 0 ORDER BY version DESC LIMIT 1",
                user_id,
            )
        else:
            row = await q.fetch_one(
                "SELECT version, algorithm, auth_data, etag FROM key_backup_versions"
                " WHERE user_id = ? AND version = ? AND deleted = 0",
                user_id,
                version,
            )
        if row is None:
            return None
        return BackupVersion(row[0], row[1], _decoder.decode(row[2]), row[3])

    async def update_auth_data(
        self, q: Queryable, user_id: str, version: int, auth_data: dict[str, Any]
    ) -> None:
        await q.execute(
            "UPDATE key_backup_versions SET auth_data = ? WHERE user_id = ? AND version = ?",
            msgspec.json.encode(auth_data).decode(),
            user_id,
            version,
        )

    async def delete_version(self, q: Queryable, user_id: str, version: int) -> None:
        await q.execute(
            "UPDATE key_backup_versions SET deleted = 1 WHERE user_id = ? AND version = ?",
            user_id,
            version,
        )
        await q.execute(
            "DELETE FROM key_backup_sessions WHERE user_id = ? AND version = ?", user_id, version
        )

    async def bump_etag(self, q: Queryable, user_id: str, version: int) -> None:
        await q.execute(
            "UPDATE key_backup_versions SET etag = etag + 1 WHERE user_id = ? AND version = ?",
            user_id,
            version,
        )

    async def get_session(
        self, q: Queryable, user_id: str, version: int, room_id: str, session_id: str
    ) -> BackupSession | None:
        rows = await self.sessions(q, user_id, version, room_id=room_id, session_id=session_id)
        return rows[0] if rows else None

    async def put_session(
        self, q: Queryable, user_id: str, version: int, session: BackupSession
    ) -> None:
        await q.execute(
            "INSERT INTO key_backup_sessions (user_id, version, room_id, session_id,"
            " first_message_index, forwarded_count, is_verified, session_data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, version, room_id, session_id)"
            " DO UPDATE SET first_message_index = excluded.first_message_index,"
            " forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified,"
            " session_data = excluded.session_data",
            user_id, version, session.room_id, session.session_id, session.first_message_index,
            session.forwarded_count, int(session.is_verified),
            msgspec.json.encode(session.session_data).decode(),
        )  # fmt: skip

    async def sessions(
        self,
        q: Queryable,
        user_id: str,
        version: int,
        *,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> list[BackupSession]:
        conditions, args = _session_scope(user_id, version, room_id, session_id)
        rows = await q.fetch_all(
            "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified,"
            f" session_data FROM key_backup_sessions WHERE user_id = ? AND version = ?{conditions}"
            " ORDER BY room_id, session_id",
            *args,
        )
        return [
            BackupSession(r[0], r[1], r[2], r[3], bool(r[4]), _decoder.decode(r[5])) for r in rows
        ]

    async def delete_sessions(
        self,
        q: Queryable,
        user_id: str,
        version: int,
        *,
        room_id: str | None,
        session_id: str | None,
    ) -> None:
        conditions, args = _session_scope(user_id, version, room_id, session_id)
        await q.execute(
            f"DELETE FROM key_backup_sessions WHERE user_id = ? AND version = ?{conditions}", *args
        )

    async def count_sessions(self, q: Queryable, user_id: str, version: int) -> int:
        return int(
            await q.fetch_val(
                "SELECT COUNT(*) FROM key_backup_sessions WHERE user_id = ? AND version = ?",
                user_id,
                version,
            )
            or 0
        )


def _session_scope(
    user_id: str, version: int, room_id: str | None, session_id: str | None
) -> tuple[str, list[object]]:
    """The WHERE conditions after `user_id = ? AND version = ?`, and all their arguments, for
    one backup's sessions, optionally of one room and one session."""
    conditions = ""
    args: list[object] = [user_id, version]
    if room_id is not None:
        conditions += " AND room_id = ?"
        args.append(room_id)
    if session_id is not None:
        conditions += " AND session_id = ?"
        args.append(session_id)
    return conditions, args
