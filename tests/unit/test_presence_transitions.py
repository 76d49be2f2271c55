"""Presence transitions and the in-memory tracker, without a server (the expiry worker:
tests/unit/test_workers.py)."""

from __future__ import annotations

import msgspec
import pytest

from bastion.services.presence.expiry import LONGEST_SYNC_MS, REMOTE_SYNC_MS, WRITE_THROUGH_MS
from bastion.services.presence.tracker import PresenceTracker
from bastion.services.presence.transitions import (
    Timeouts,
    is_visible_change,
    never_seen,
    presence_content,
    presence_event,
    seen_syncing,
    set_by_client,
    timed_out,
)
from bastion.services.sliding_sync.request import MAX_TIMEOUT_MS as SLIDING_MAX_TIMEOUT_MS
from bastion.services.sync.request import MAX_TIMEOUT_MS as SYNC_MAX_TIMEOUT_MS
from bastion.store.protocols import PresenceRecord

ALICE = "@alice:example.org"
TIMEOUTS = Timeouts(idle_ms=300_000, offline_ms=30_000, active_ms=60_000)
T0 = 1_000_000


def online_at(ts: int) -> PresenceRecord:
    return seen_syncing(never_seen(ALICE), "online", ts)


def test_syncing_sets_presence_as_asked() -> None:
    record = online_at(T0)
    assert (record.state, record.currently_active) == ("online", True)
    assert (record.last_active_ts, record.last_sync_ts) == (T0, T0)
    idle = seen_syncing(record, "unavailable", T0 + 5)
    assert (idle.state, idle.currently_active, idle.last_active_ts) == ("unavailable", False, T0)
    unchanged = seen_syncing(idle, "offline", T0 + 9)
    assert not is_visible_change(idle, unchanged)
    assert unchanged.last_sync_ts == T0 + 9


def test_set_by_client_is_activity_and_replaces_the_message() -> None:
    record = set_by_client(never_seen(ALICE), "online", "Ward 7", T0)
    assert (record.state, record.status_msg, record.currently_active) == ("online", "Ward 7", True)
    cleared = set_by_client(record, "online", None, T0 + 1)
    assert cleared.status_msg is None
    assert is_visible_change(record, cleared)
    assert not is_visible_change(record, msgspec.structs.replace(record, last_active_ts=T0 + 1))


@pytest.mark.parametrize(
    ("elapsed_ms", "syncing", "expected"),
    [
        (30_000, False, ("online", True)),
        (30_001, False, ("offline", False)),
        (59_999, True, ("online", True)),
        (60_001, True, ("online", False)),
        (300_001, True, ("unavailable", False)),
        (10_000_000, True, ("unavailable", False)),
        (10_000_000, False, ("offline", False)),
    ],
)
def test_timeouts(elapsed_ms: int, syncing: bool, expected: tuple[str, bool]) -> None:
    after = timed_out(online_at(T0), syncing=syncing, now_ms=T0 + elapsed_ms, timeouts=TIMEOUTS)
    assert (after.state, after.currently_active) == expected


def test_recent_sync_or_activity_keeps_a_user_from_going_offline() -> None:
    record = msgspec.structs.replace(online_at(T0), last_sync_ts=T0 + 20_000)
    assert timed_out(record, syncing=False, now_ms=T0 + 45_000, timeouts=TIMEOUTS).state == (
        "online"
    )
    offline = msgspec.structs.replace(record, state="offline", currently_active=False)
    assert timed_out(offline, syncing=False, now_ms=T0 * 10, timeouts=TIMEOUTS) is offline


def test_content_and_event_shape() -> None:
    assert presence_content(never_seen(ALICE), T0) == {
        "presence": "offline",
        "currently_active": False,
    }
    record = set_by_client(never_seen(ALICE), "unavailable", "Lunch", T0)
    assert presence_event(record, T0 + 1500) == {
        "type": "m.presence",
        "sender": ALICE,
        "content": {
            "presence": "unavailable",
            "currently_active": False,
            "last_active_ago": 1500,
            "status_msg": "Lunch",
        },
    }
    # A clock that stepped back never gives a negative age.
    assert presence_content(record, T0 - 10)["last_active_ago"] == 0


def test_tracker_flushes_only_old_timestamps_and_keeps_newer_ones() -> None:
    tracker = PresenceTracker()
    stored = online_at(T0)
    entry = tracker.remember(stored)
    assert tracker.remember(online_at(T0 + 5)) is entry  # already tracked
    assert not entry.needs_flush(T0 + 120_000, 60_000)  # nothing behind
    entry.record = seen_syncing(entry.record, "online", T0 + 10_000)
    assert not entry.needs_flush(T0 + 59_999, 60_000)
    assert entry.needs_flush(T0 + 60_000, 60_000)
    # A write of an older record keeps the newer timestamps memory has.
    tracker.stored(msgspec.structs.replace(stored, currently_active=False))
    assert entry.record.last_active_ts == T0 + 10_000
    assert entry.record.currently_active is False
    assert entry.stored.last_active_ts == T0


def test_tracker_forgets_offline_users_without_syncs() -> None:
    tracker = PresenceTracker()
    offline = never_seen(ALICE)
    tracker.remember(offline)
    tracker.sync_started(ALICE)
    tracker.forget_idle()
    assert tracker.get(ALICE) is not None  # a sync is in progress
    tracker.sync_ended(ALICE, T0)
    tracker.forget_idle()
    assert tracker.get(ALICE) is not None  # its timestamp is not stored yet
    tracker.stored(msgspec.structs.replace(offline, last_sync_ts=T0))
    tracker.forget_idle()
    assert tracker.get(ALICE) is None
    assert len(tracker) == 0
    tracker.sync_ended(ALICE, T0)  # unknown: nothing to do
    tracker.sync_started(ALICE)
    assert tracker.get(ALICE) is None


def test_a_stale_entry_keeps_its_syncs_and_newer_timestamps_when_read_again() -> None:
    """Another process wrote the row (tracker.py): the stored state wins, the activity this
    process saw later is kept, and so are its syncs in progress."""
    tracker = PresenceTracker()
    online = msgspec.structs.replace(never_seen(ALICE), state="online", last_sync_ts=T0)
    entry = tracker.remember(online)
    tracker.sync_started(ALICE)
    tracker.sync_ended(ALICE, T0 + 5_000)
    tracker.sync_started(ALICE)
    tracker.invalidate("@bob:example.org")  # not tracked: nothing to do
    tracker.invalidate(ALICE)
    assert entry.stale
    offline = msgspec.structs.replace(online, state="offline", last_sync_ts=T0 + 1_000)
    tracker.refresh(entry, offline)
    assert not entry.stale
    assert entry.stored == offline
    assert entry.record == msgspec.structs.replace(offline, last_sync_ts=T0 + 5_000)
    assert entry.syncs_in_flight == 1
    tracker.invalidate_all()
    assert entry.stale


def test_the_shared_sweep_covers_the_longest_long_poll() -> None:
    """A sync in progress on another process is known to the sweep only by its start (written
    through): REMOTE_SYNC_MS must cover the longest hold of /sync and sliding sync."""
    assert max(SYNC_MAX_TIMEOUT_MS, SLIDING_MAX_TIMEOUT_MS) <= LONGEST_SYNC_MS
    assert REMOTE_SYNC_MS >= LONGEST_SYNC_MS + WRITE_THROUGH_MS
