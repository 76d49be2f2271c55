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

With other processes (`shared`), the sweep runs in one of them and its memory no longer holds
everything: another process's syncs in progress and fresher timestamps reach it only through
the database, where each process writes its users' activity through at most once per
`WRITE_THROUGH_MS` (service.py), a sync's at its start. So a sweep decides conservatively:
- a user counts as syncing while their last sync (as stored or known here) is younger than
  `REMOTE_SYNC_MS`: a sync in progress anywhere started at most `LONGEST_SYNC_MS` ago and
  wrote its start through, give or take `WRITE_THROUGH_MS`;
- the idle and active timeouts are judged `WRITE_THROUGH_MS` ago, since stored activity may
  lag by that much;
- an entry its memory says is due is read again from the database (marked stale) before the
  timeout is applied, so a user who moved to another process is judged by that process's
  activity.
A user is therefore never timed out early; one who stopped syncing everywhere goes offline at
most `REMOTE_SYNC_MS` later than alone (docs/subsystems/presence.md).
"""

from __future__ import annotations

from bastion.services.presence.tracker import PresenceTracker, Tracked
from bastion.services.presence.transitions import Timeouts, timed_out
from bastion.services.presence.writer import PresenceWriter
from bastion.store.database import Database
from bastion.store.protocols import ExpiryCutoffs, PresenceRecord, PresenceStore

# Stored timestamps are refreshed at most this often per user.
FLUSH_AFTER_MS = 60_000
# Rows the query returns per sweep; the rest wait for the next one.
SWEEP_BATCH = 1_000
# Shared: a process writes a user's activity through once stored timestamps lag this much.
WRITE_THROUGH_MS = 15_000
# The longest /sync or sliding-sync long-poll (their MAX_TIMEOUT_MS; a unit test checks).
LONGEST_SYNC_MS = 120_000
# Shared: how long after a sync was last seen starting it may still be in progress elsewhere.
REMOTE_SYNC_MS = LONGEST_SYNC_MS + WRITE_THROUGH_MS


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
        self._shared = writer.shared  # other processes write presence too
        self._remote_sync_ms = REMOTE_SYNC_MS if self._shared else 0

    async def sweep(self, now_ms: int) -> int:
        """Time out whoever is due at `now_ms`; returns how many visible changes were made."""
        t = self._timeouts
        cutoffs = ExpiryCutoffs(
            online_active_before=now_ms - min(t.active_ms, t.idle_ms) - self._lag_ms,
            live_seen_before=now_ms - max(t.offline_ms + self._lag_ms, self._remote_sync_ms),
            limit=SWEEP_BATCH,
        )
        rows = await self._store.expiry_candidates(self._db, cutoffs)
        known = {r.user_id: r for r in rows if self._tracker.get(r.user_id) is None}
        due = list(known)
        for entry in self._tracker:
            expires = self._expired(entry, now_ms) != entry.record
            if expires and self._shared:
                entry.stale = True  # judged by the freshest activity, whichever process saw it
            if expires or entry.needs_flush(now_ms, FLUSH_AFTER_MS):
                due.append(entry.record.user_id)
        changed = 0
        if due:
            changed = await self._writer.apply(
                due, lambda entry: self._expired(entry, now_ms), known=known
            )
        self._tracker.forget_idle()
        return changed

    def _expired(self, entry: Tracked, now_ms: int) -> PresenceRecord:
        record, syncing = entry.record, entry.syncs_in_flight > 0
        if self._shared:  # see the module docstring
            syncing = syncing or now_ms - record.last_sync_ts < REMOTE_SYNC_MS
            now_ms -= WRITE_THROUGH_MS
        return timed_out(record, syncing=syncing, now_ms=now_ms, timeouts=self._timeouts)
