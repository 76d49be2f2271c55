"""What this process knows about presence that the database does not yet: fresher timestamps
and which users have a sync in progress.

A sync that changes nothing visible (the common case: an online user syncing again) costs no
query and no write: it updates the entry here. The expiry sweep writes stale timestamps back at
most once per `flush_after_ms` per user, so the database lags memory by at most that plus one
sweep interval. Entries are kept for users who are not offline or have a sync in progress;
others are dropped by the sweep and read again from the database when next needed.

Invariant: alone on its database, this process is the only writer of presence, so an entry's
visible fields always equal the stored row's; only its timestamps may be newer. With other
processes (`shared`, docs/subsystems/presence.md), they write presence too: each visible write
is followed by `CacheInvalidated(PRESENCE_CACHE, user_id)` on the bus, which marks the entry
`stale` everywhere (a `DeliveryGap` marks every entry), and a stale entry is read again under
the writer's lock before it is used (its syncs in progress and newer timestamps kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from bastion.services.presence.transitions import OFFLINE
from bastion.store.protocols import PresenceRecord

PRESENCE_CACHE = "presence"  # the cache name in `CacheInvalidated`; keys are user IDs


@dataclass(slots=True)
class Tracked:
    """One user's presence as this process knows it."""

    record: PresenceRecord
    stored: PresenceRecord
    syncs_in_flight: int = 0
    stale: bool = False  # another process may have written the row since it was read

    def needs_flush(self, now_ms: int, flush_after_ms: int) -> bool:
        """True if the stored timestamps are behind and old enough to be refreshed."""
        record, stored = self.record, self.stored
        behind = (record.last_active_ts, record.last_sync_ts) != (
            stored.last_active_ts,
            stored.last_sync_ts,
        )
        oldest = min(stored.last_active_ts, stored.last_sync_ts)
        return behind and now_ms - oldest >= flush_after_ms


class PresenceTracker:
    """user_id -> Tracked, for the users this process serves."""

    def __init__(self) -> None:
        self._entries: dict[str, Tracked] = {}

    def get(self, user_id: str) -> Tracked | None:
        return self._entries.get(user_id)

    def __iter__(self) -> Iterator[Tracked]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, stored: PresenceRecord) -> Tracked:
        """Track a row as read from the database (a no-op if already tracked)."""
        return self._entries.setdefault(stored.user_id, Tracked(stored, stored))

    def stored(self, record: PresenceRecord) -> None:
        """`record` was just written. A sync may have moved the entry's timestamps on while the
        write was in flight (that path takes no lock), so the newer timestamps are kept."""
        entry = self._entries.get(record.user_id)
        if entry is None:
            self._entries[record.user_id] = Tracked(record, record)
            return
        entry.record = msgspec.structs.replace(
            record,
            last_active_ts=max(record.last_active_ts, entry.record.last_active_ts),
            last_sync_ts=max(record.last_sync_ts, entry.record.last_sync_ts),
        )
        entry.stored = record

    def refresh(self, entry: Tracked, stored: PresenceRecord) -> None:
        """A stale `entry` read again: the row as stored, with the newer timestamps kept."""
        entry.record = msgspec.structs.replace(
            stored,
            last_active_ts=max(stored.last_active_ts, entry.record.last_active_ts),
            last_sync_ts=max(stored.last_sync_ts, entry.record.last_sync_ts),
        )
        entry.stored = stored
        entry.stale = False

    def invalidate(self, user_id: str) -> None:
        """Another process wrote `user_id`'s presence: read it again before using it."""
        entry = self._entries.get(user_id)
        if entry is not None:
            entry.stale = True

    def invalidate_all(self) -> None:
        """Invalidations from other processes may have been missed."""
        for entry in self._entries.values():
            entry.stale = True

    def sync_started(self, user_id: str) -> None:
        entry = self._entries.get(user_id)
        if entry is not None:
            entry.syncs_in_flight += 1

    def sync_ended(self, user_id: str, now_ms: int) -> None:
        entry = self._entries.get(user_id)
        if entry is None:
            return
        entry.syncs_in_flight = max(0, entry.syncs_in_flight - 1)
        if now_ms > entry.record.last_sync_ts:
            entry.record = msgspec.structs.replace(entry.record, last_sync_ts=now_ms)

    def forget_idle(self) -> None:
        """Drop offline users with no sync in progress whose timestamps are all stored."""
        for user_id, entry in list(self._entries.items()):
            if (
                entry.record.state == OFFLINE
                and entry.syncs_in_flight == 0
                and entry.record == entry.stored
            ):
                del self._entries[user_id]
