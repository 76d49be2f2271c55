"""SQL for encryption keys: device keys, one-time and fallback keys, cross-signing keys,
signatures and the device-list change log. Keys are stored as the JSON clients uploaded."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from bastion.json_types import JsonObject
from bastion.store.database import Queryable, Row
from bastion.store.sql.events import placeholders

_decoder = msgspec.json.Decoder()

# Rows ('otk', algorithm, count) and ('fallback', algorithm, 0) of one device; parameters
# (user_id, device_id, user_id, device_id). Also a part of /sync's probe (sql/sync_probe.py).
KEY_COUNTS_SQL = (
    "SELECT 'otk', algorithm, COUNT(*) FROM one_time_keys WHERE user_id = ?"
    " AND device_id = ? GROUP BY algorithm UNION ALL SELECT 'fallback', algorithm, 0"
    " FROM fallback_keys WHERE user_id = ? AND device_id = ? AND used = 0"
)


def key_counts_of(rows: Sequence[Row]) -> tuple[dict[str, int], list[str]]:
    """(one-time key count per algorithm, unused fallback algorithms) of KEY_COUNTS_SQL rows
    (other kinds of rows are ignored)."""
    counts = {r[1]: int(r[2]) for r in rows if r[0] == "otk"}
    return counts, sorted(r[1] for r in rows if r[0] == "fallback")


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


# How often a claim that lost its pick to a racing claim picks again (each loss means another
# claimer took a key, so a few attempts cover every realistic burst).
_CLAIM_ATTEMPTS = 4


class SqlKeyStore:
    """Everything clients need to set up end-to-end encryption with each other."""

    async def put_device_keys(
        self, q: Queryable, user_id: str, device_id: str, keys: JsonObject
    ) -> None:
        await q.execute(
            "INSERT INTO device_keys (user_id, device_id, key_json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, device_id) DO UPDATE SET key_json = excluded.key_json",
            user_id,
            device_id,
            _json(keys),
        )

    async def device_keys(
        self, q: Queryable, user_ids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[JsonObject, str | None]]:
        """(user, device) -> (device keys, device display name), for existing devices."""
        if not user_ids:
            return {}
        rows = await q.fetch_all(
            "SELECT k.user_id, k.device_id, k.key_json, d.display_name FROM device_keys k"
            " JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id"
            f" WHERE k.user_id IN ({placeholders(len(user_ids))})",
            *user_ids,
        )
        return {(r[0], r[1]): (_decoder.decode(r[2]), r[3]) for r in rows}

    async def delete_device_keys(
        self,
        q: Queryable,
        user_id: str,
        device_ids: Sequence[str] | None,
        *,
        keep_device_id: str | None = None,
    ) -> None:
        """Delete the keys of some devices, or of all but `keep_device_id` when None."""
        for table in ("device_keys", "one_time_keys", "fallback_keys"):
            if device_ids is None:
                await q.execute(
                    f"DELETE FROM {table} WHERE user_id = ? AND device_id <> ?",
                    user_id,
                    keep_device_id or "",
                )
                continue
            await q.execute_many(
                f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?",
                [(user_id, d) for d in device_ids],
            )

    async def add_one_time_keys(
        self,
        q: Queryable,
        user_id: str,
        device_id: str,
        keys: Sequence[tuple[str, str, JsonObject | str]],
    ) -> None:
        """Store (algorithm, key_id, key); a key ID already stored keeps its first value.

        Each key's `upload_order` is one more than the highest of the device's keys of that
        algorithm, computed as its row goes in: later rows of this call see the earlier ones,
        so keys are ordered as listed and after every earlier upload. Two uploads of one device
        racing on PostgreSQL may tie (neither sees the other's rows); claims break ties by key
        ID, and the spec orders no keys of overlapping uploads anyway.
        """
        await q.execute_many(
            "INSERT INTO one_time_keys"
            " (user_id, device_id, algorithm, key_id, key_json, upload_order)"
            " VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(upload_order), 0) + 1"
            "  FROM one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ?))"
            " ON CONFLICT DO NOTHING",
            [
                (user_id, device_id, alg, key_id, _json(key), user_id, device_id, alg)
                for alg, key_id, key in keys
            ],
        )

    async def one_time_key_counts(
        self, q: Queryable, user_id: str, device_id: str
    ) -> dict[str, int]:
        rows = await q.fetch_all(
            "SELECT algorithm, COUNT(*) FROM one_time_keys WHERE user_id = ? AND device_id = ?"
            " GROUP BY algorithm",
            user_id,
            device_id,
        )
        return {r[0]: int(r[1]) for r in rows}

    async def claim_one_time_key(
        self, q: Queryable, user_id: str, device_id: str, algorithm: str
    ) -> tuple[str, JsonObject | str] | None:
        """Remove and return the device's earliest uploaded key of `algorithm`, if any is left
        (spec: POST /keys/claim hands keys out in upload order, each at most once).

        One statement picks and deletes the key, so a key goes to one claimer only. On
        PostgreSQL a racing claim that picked the same row finds it gone when the winner
        commits and deletes nothing; it then picks again (a new statement sees the winner's
        commit), so it gets the next key rather than the device's fallback key while one-time
        keys are left. SQLite transactions never overlap.
        """
        for _ in range(_CLAIM_ATTEMPTS):
            row = await q.fetch_one(
                "DELETE FROM one_time_keys WHERE (user_id, device_id, algorithm, key_id) IN"
                " (SELECT user_id, device_id, algorithm, key_id FROM one_time_keys"
                "  WHERE user_id = ? AND device_id = ? AND algorithm = ?"
                "  ORDER BY upload_order, key_id LIMIT 1)"
                " RETURNING key_id, key_json",
                user_id,
                device_id,
                algorithm,
            )
            if row is not None:
                return row[0], _decoder.decode(row[1])
            left = await q.fetch_val(
                "SELECT 1 FROM one_time_keys"
                " WHERE user_id = ? AND device_id = ? AND algorithm = ? LIMIT 1",
                user_id,
                device_id,
                algorithm,
            )
            if left is None:
                return None
        return None

    async def set_fallback_key(
        self,
        q: Queryable,
        user_id: str,
        device_id: str,
        algorithm: str,
        key_id: str,
        key: JsonObject | str,
    ) -> None:
        await q.execute(
            "INSERT INTO fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)"
            " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET"
            " key_id = excluded.key_id, key_json = excluded.key_json, used = 0",
            user_id,
            device_id,
            algorithm,
            key_id,
            _json(key),
        )

    async def use_fallback_key(
        self, q: Queryable, user_id: str, device_id: str, algorithm: str
    ) -> tuple[str, JsonObject | str] | None:
        """The fallback key (marked used; it stays until replaced)."""
        row = await q.fetch_one(
            "UPDATE fallback_keys SET used = 1"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ? RETURNING key_id, key_json",
            user_id,
            device_id,
            algorithm,
        )
        return None if row is None else (row[0], _decoder.decode(row[1]))

    async def key_counts(
        self, q: Queryable, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]]:
        """(one-time key count per algorithm, algorithms with an unused fallback key), at once."""
        rows = await q.fetch_all(KEY_COUNTS_SQL, user_id, device_id, user_id, device_id)
        return key_counts_of(rows)

    async def key_counts_of_users(
        self, q: Queryable, user_ids: Sequence[str]
    ) -> tuple[dict[str, dict[str, dict[str, int]]], dict[str, dict[str, list[str]]]]:
        """Of every device of `user_ids`: (one-time key count per algorithm, algorithms with an
        unused fallback key), user -> device -> ..., a device without keys included empty."""
        counts: dict[str, dict[str, dict[str, int]]] = {}
        fallback: dict[str, dict[str, list[str]]] = {}
        if not user_ids:
            return counts, fallback
        among = placeholders(len(user_ids))
        rows = await q.fetch_all(
            "SELECT d.user_id, d.device_id, k.algorithm, COUNT(k.key_id) FROM devices d"
            " LEFT JOIN one_time_keys k ON k.user_id = d.user_id AND k.device_id = d.device_id"
            f" WHERE d.user_id IN ({among}) GROUP BY d.user_id, d.device_id, k.algorithm",
            *user_ids,
        )
        for r in rows:
            by_algorithm = counts.setdefault(r[0], {}).setdefault(r[1], {})
            fallback.setdefault(r[0], {}).setdefault(r[1], [])
            if r[2] is not None:  # None: a device without one-time keys
                by_algorithm[r[2]] = int(r[3])
        rows = await q.fetch_all(
            "SELECT f.user_id, f.device_id, f.algorithm FROM fallback_keys f JOIN devices d"
            " ON d.user_id = f.user_id AND d.device_id = f.device_id"
            f" WHERE f.user_id IN ({among}) AND f.used = 0 ORDER BY f.algorithm",
            *user_ids,
        )
        for r in rows:
            fallback.setdefault(r[0], {}).setdefault(r[1], []).append(r[2])
        return counts, fallback

    async def put_cross_signing_key(
        self, q: Queryable, user_id: str, key_type: str, key: JsonObject
    ) -> None:
        await q.execute(
            "INSERT INTO cross_signing_keys (user_id, key_type, key_json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, key_type) DO UPDATE SET key_json = excluded.key_json",
            user_id,
            key_type,
            _json(key),
        )

    async def cross_signing_keys(
        self, q: Queryable, user_ids: Sequence[str]
    ) -> dict[tuple[str, str], JsonObject]:
        """(user, key_type) -> key."""
        if not user_ids:
            return {}
        rows = await q.fetch_all(
            "SELECT user_id, key_type, key_json FROM cross_signing_keys"
            f" WHERE user_id IN ({placeholders(len(user_ids))})",
            *user_ids,
        )
        return {(r[0], r[1]): _decoder.decode(r[2]) for r in rows}

    async def put_signature(
        self, q: Queryable, signer: tuple[str, str], target: tuple[str, str], signature: str
    ) -> None:
        await q.execute(
            "INSERT INTO key_signatures (signer_user_id, signer_key_id, target_user_id,"
            " target_key_id, signature) VALUES (?, ?, ?, ?, ?) ON CONFLICT"
            " (signer_user_id, signer_key_id, target_user_id, target_key_id)"
            " DO UPDATE SET signature = excluded.signature",
            signer[0],
            signer[1],
            target[0],
            target[1],
            signature,
        )

    async def signatures_for(
        self, q: Queryable, target_user_ids: Sequence[str]
    ) -> list[tuple[str, str, str, str, str]]:
        """(signer user, signer key, target user, target key, signature) for these targets."""
        if not target_user_ids:
            return []
        rows = await q.fetch_all(
            "SELECT signer_user_id, signer_key_id, target_user_id, target_key_id, signature"
            f" FROM key_signatures WHERE target_user_id IN ({placeholders(len(target_user_ids))})",
            *target_user_ids,
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def record_device_list_change(self, q: Queryable, user_id: str, position: int) -> None:
        await q.execute(
            "INSERT INTO device_list_changes (stream_id, user_id) VALUES (?, ?)", position, user_id
        )

    async def device_list_changes(
        self, q: Queryable, viewer: str, *, after: int, upto: int
    ) -> list[str]:
        """Users whose devices changed in (after, upto] and who share a room with `viewer`
        (or are the viewer). Cost follows the number of changes."""
        rows = await q.fetch_all(
            "SELECT DISTINCT c.user_id FROM device_list_changes c"
            " WHERE c.stream_id > ? AND c.stream_id <= ? AND (c.user_id = ? OR EXISTS ("
            "  SELECT 1 FROM memberships mine JOIN memberships theirs"
            "  ON theirs.room_id = mine.room_id WHERE mine.user_id = ? AND mine.membership = 'join'"
            "  AND theirs.user_id = c.user_id AND theirs.membership IN ('join', 'invite')))",
            after,
            upto,
            viewer,
            viewer,
        )
        return [r[0] for r in rows]

    async def users_sharing_rooms(
        self, q: Queryable, viewer: str, candidates: Sequence[str]
    ) -> set[str]:
        """Which of `candidates` share at least one joined room with `viewer`."""
        if not candidates:
            return set()
        rows = await q.fetch_all(
            "SELECT DISTINCT theirs.user_id FROM memberships mine JOIN memberships theirs"
            " ON theirs.room_id = mine.room_id WHERE mine.user_id = ? AND mine.membership = 'join'"
            " AND theirs.membership = 'join'"
            f" AND theirs.user_id IN ({placeholders(len(candidates))})",
            viewer,
            *candidates,
        )
        return {r[0] for r in rows}

    async def users_sharing_any_room(self, q: Queryable, user_id: str) -> set[str]:
        """Everyone joined to or invited into a room `user_id` is joined to."""
        rows = await q.fetch_all(
            "SELECT DISTINCT theirs.user_id FROM memberships mine JOIN memberships theirs"
            " ON theirs.room_id = mine.room_id WHERE mine.user_id = ? AND mine.membership = 'join'"
            " AND theirs.membership IN ('join', 'invite')",
            user_id,
        )
        return {r[0] for r in rows}

    async def membership_moves(
        self, q: Queryable, viewer: str, *, after: int, upto: int
    ) -> tuple[set[str], set[str]]:
        """(users who came to share a room with `viewer`, users who left one) in (after, upto].

        Starts from the membership changes in the window (index on position), so its cost
        follows what changed, not how many rooms the viewer is in. Rows are (kind, user,
        their membership, the viewer's membership): 'other' for someone else's move in a room
        the viewer has been in, 'own' for each member of a room the viewer moved in.
        """
        rows = await q.fetch_all(
            "SELECT 'other', theirs.user_id, theirs.membership, mine.membership"
            " FROM memberships theirs JOIN memberships mine"
            " ON mine.room_id = theirs.room_id AND mine.user_id = ?"
            " WHERE theirs.stream_ordering > ? AND theirs.stream_ordering <= ?"
            " AND theirs.user_id <> ?"
            " UNION ALL SELECT 'own', theirs.user_id, theirs.membership, mine.membership"
            " FROM memberships mine JOIN memberships theirs"
            " ON theirs.room_id = mine.room_id AND theirs.membership = 'join'"
            " WHERE mine.user_id = ? AND mine.stream_ordering > ? AND mine.stream_ordering <= ?"
            " AND theirs.user_id <> ?",
            viewer, after, upto, viewer, viewer, after, upto, viewer,
        )  # fmt: skip
        joined = {r[1] for r in rows if r[3] == "join" and (r[0] == "own" or r[2] == "join")}
        departed = {r[1] for r in rows if r[0] == "other" and r[2] in ("leave", "ban")}
        departed |= {r[1] for r in rows if r[0] == "own" and r[3] != "join"}
        return joined, departed

    async def users_with_device_list_changes(
        self, q: Queryable, *, after: int, upto: int
    ) -> list[str]:
        """Every user whose devices changed in (after, upto] (for GET /keys/changes filtering)."""
        rows = await q.fetch_all(
            "SELECT DISTINCT user_id FROM device_list_changes"
            " WHERE stream_id > ? AND stream_id <= ?",
            after,
            upto,
        )
        return [r[0] for r in rows]
