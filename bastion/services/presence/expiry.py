"""Presence timeouts: the sweep that moves idle users to unavailable and departed ones to
offline (run every few seconds by `workers/presence_expiry.py`).

A sweep is one indexed query plus a pass over memory. The query finds rows the database says
may have timed out; it matters after a restart, when memory knows nothing. The pass over the
users tracked in memory is exact: memory holds the fresh timestamps and the syncs in progress.
Because stored timestamps lag memory by up to `FLUSH_AFTER_MS` plus one interval, the query's
cutoffs are pushed back by that lag: a user active through this process is never picked from
stale timestamps, and one last seen by a previous run times out at most that lag late. Visible
changes are written in one transaction and wake those who can see them; stale timestamps are
flushed in place in the same transaction.
"""

from __future__ import annotations

from bastion.services.presence.state import Timeouts, timed_out
from bastion.services.presence.tracker import PresenceTracker, Tracked
from bastion.services.presence.writer import PresenceWriter
from bastion.store.database import Database
from bastion.store.protocols import ExpiryCutoffs, PresenceRecord, PresenceStore

# Stored timestamps are refreshed at most this often per user.
FLUSH_AFTER_MS = 60_000
# Rows the query returns per sweep; the rest wait for the next one.
SWEEP_BATCH = 1_000


class ExpirySweeper:
    """Applies the timeouts of `state.timed_out` to everyone due."""

    def __init__(
        self,
        db: Database,
        store: PresenceStore,
        writer: PresenceWriter,
        tracker: PresenceTracker,
        *,
        timeouts: Timeouts,
        interval_ms: int,
    ) -> None:
        self._db = db
        self._store = store
        self._writer = writer
        self._tracker = tracker
        self._timeouts = timeouts
        self._lag_ms = FLUSH_AFTER_MS + interval_ms

    async def sweep(self, now_ms: int) -> int:
        """Time out whoever is due at `now_ms`; returns how many visible changes were made."""
        t = self._timeouts
        cutoffs = ExpiryCutoffs(
            online_active_before=now_ms - min(t.active_ms, t.idle_ms) - self._lag_ms,
            live_seen_before=now_ms - t.offline_ms - self._lag_ms,
            limit=SWEEP_BATCH,
        )
        rows = await self._store.expiry_candidates(self._db, cutoffs)
        known = {r.user_id: r for r in rows if self._tracker.get(r.user_id) is None}
        due = list(known)
        for entry in self._tracker:
            if entry.needs_flush(now_ms, FLUSH_AFTER_MS) or self._expired(entry, now_ms) != (
                entry.record
            ):
                due.append(entry.record.user_id)
        changed = 0
        if due:
            changed = await self._writer.apply(
                due, lambda entry: self._expired(entry, now_ms), known=known
            )
        self._tracker.forget_idle()
        return changed

    def _expired(self, entry: Tracked, now_ms: int) -> PresenceRecord:
        return timed_out(
            entry.record,
            syncing=entry.syncs_in_flight > 0,
            now_ms=now_ms,
            timeouts=self._timeouts,
        )
