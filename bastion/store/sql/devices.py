"""SQL for devices and their access tokens (`devices`, `access_tokens`)."""

from __future__ import annotations

from bastion.store.database import Queryable, Row
from bastion.store.records import DeviceRecord, TokenOwner

_COLUMNS = "user_id, device_id, display_name, created_ts, last_seen_ts, last_seen_ip"


def _device(row: Row) -> DeviceRecord:
    return DeviceRecord(
        user_id=row["user_id"],
        device_id=row["device_id"],
        display_name=row["display_name"],
        created_ts=row["created_ts"],
        last_seen_ts=row["last_seen_ts"],
        last_seen_ip=row["last_seen_ip"],
    )


class SqlDeviceStore:
    """Devices and access tokens. Deleting a device deletes its tokens (ON DELETE CASCADE)."""

    async def ensure_device(
        self, q: Queryable, user_id: str, device_id: str, display_name: str | None, now_ms: int
    ) -> None:
        """Create the device if it does not exist; an existing one keeps its name."""
        await q.execute(
            "INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO NOTHING",
            user_id,
            device_id,
            display_name,
            now_ms,
            now_ms,
        )

    async def get_device(self, q: Queryable, user_id: str, device_id: str) -> DeviceRecord | None:
        row = await q.fetch_one(
            f"SELECT {_COLUMNS} FROM devices WHERE user_id = ? AND device_id = ?",
            user_id,
            device_id,
        )
        return None if row is None else _device(row)

    async def list_devices(self, q: Queryable, user_id: str) -> list[DeviceRecord]:
        rows = await q.fetch_all(
            f"SELECT {_COLUMNS} FROM devices WHERE user_id = ? ORDER BY device_id", user_id
        )
        return [_device(row) for row in rows]

    async def set_display_name(
        self, q: Queryable, user_id: str, device_id: str, display_name: str | None
    ) -> bool:
        changed = await q.execute(
            "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
            display_name,
            user_id,
            device_id,
        )
        return changed > 0

    async def delete_devices(self, q: Queryable, user_id: str, device_ids: list[str]) -> None:
        await q.execute_many(
            "DELETE FROM devices WHERE user_id = ? AND device_id = ?",
            [(user_id, device_id) for device_id in device_ids],
        )

    async def delete_all_devices(
        self, q: Queryable, user_id: str, *, keep_device_id: str | None = None
    ) -> None:
        await q.execute(
            "DELETE FROM devices WHERE user_id = ? AND device_id <> ?",
            user_id,
            keep_device_id if keep_device_id is not None else "",
        )

    async def insert_token(
        self, q: Queryable, token_hash: str, user_id: str, device_id: str, now_ms: int
    ) -> None:
        await q.execute(
            "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts)"
            " VALUES (?, ?, ?, ?)",
            token_hash,
            user_id,
            device_id,
            now_ms,
        )

    async def delete_device_tokens(self, q: Queryable, user_id: str, device_id: str) -> None:
        await q.execute(
            "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", user_id, device_id
        )

    async def find_token_owner(self, q: Queryable, token_hash: str) -> TokenOwner | None:
        """One indexed query: the hot path of every authenticated request."""
        row = await q.fetch_one(
            "SELECT t.user_id, t.device_id, u.is_admin, u.is_deactivated, u.admin_locked,"
            " d.last_seen_ts, u.ratelimit_per_second, u.ratelimit_burst, u.shadow_banned"
            " FROM access_tokens t"
            " JOIN users u ON u.user_id = t.user_id"
            " JOIN devices d ON d.user_id = t.user_id AND d.device_id = t.device_id"
            " WHERE t.token_hash = ?",
            token_hash,
        )
        if row is None:
            return None
        return TokenOwner(
            user_id=row["user_id"],
            device_id=row["device_id"],
            is_admin=bool(row["is_admin"]),
            is_deactivated=bool(row["is_deactivated"]),
            last_seen_ts=row["last_seen_ts"],
            admin_locked=bool(row["admin_locked"]),
            ratelimit=_override(row["ratelimit_per_second"], row["ratelimit_burst"]),
            shadow_banned=bool(row["shadow_banned"]),
        )

    async def touch_device(
        self, q: Queryable, user_id: str, device_id: str, now_ms: int, ip: str | None
    ) -> None:
        await q.execute(
            "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?"
            " WHERE user_id = ? AND device_id = ?",
            now_ms,
            ip,
            user_id,
            device_id,
        )


def _override(per_second: int | None, burst: int | None) -> tuple[int, int] | None:
    return None if per_second is None else (int(per_second), int(burst or 0))
