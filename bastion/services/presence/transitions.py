"""Presence transitions, pure (spec: client-server-api#presence): no I/O, no clock of its own.

A user's presence moves when a client sets it (`PUT /presence/{userId}/status`), when a client
syncs (`set_presence`), and when time passes (the expiry sweep):

- Syncing with `set_presence=online` (the default) marks the user online and currently active
  and bumps their last active time (as Synapse does; so a client that wants its user shown idle
  syncs with `unavailable`, which marks them unavailable); `offline` changes nothing visible but
  still counts as a connected client, so a state set with PUT is not timed out to offline while
  a client syncs (Synapse ignores such syncs and lets the user drop offline).
- Offline: no client has synced, and the user has not been active, for `offline_ms`, and no sync
  is in progress (`offline_ms` counts from the end of the last sync).
- Unavailable (idle): online but not active for `idle_ms`.
- `currently_active` drops to false once an online user has not been active for `active_ms`.

Invariant: `currently_active` is true only while the state is online. Only a change of state,
status message or `currently_active` is visible to others (and takes a stream position); the
timestamps alone are not.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from bastion.json_types import JsonObject
from bastion.store.protocols import PresenceRecord

ONLINE = "online"
UNAVAILABLE = "unavailable"
OFFLINE = "offline"
PRESENCE_STATES = (ONLINE, UNAVAILABLE, OFFLINE)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long each timed transition waits, in milliseconds."""

    idle_ms: int
    offline_ms: int
    active_ms: int = 60_000


def never_seen(user_id: str) -> PresenceRecord:
    """The presence of someone with no presence row: offline, never active."""
    return PresenceRecord(user_id, OFFLINE, None, 0, False, 0, 0)


def set_by_client(
    record: PresenceRecord, presence: str, status_msg: str | None, now_ms: int
) -> PresenceRecord:
    """`PUT /presence/{userId}/status`: the state and message as given; the user is active now."""
    return msgspec.structs.replace(
        record,
        state=presence,
        status_msg=status_msg,
        last_active_ts=now_ms,
        currently_active=presence == ONLINE,
    )


def seen_syncing(record: PresenceRecord, set_presence: str, now_ms: int) -> PresenceRecord:
    """A sync with `set_presence` started or ended at `now_ms`."""
    if set_presence == ONLINE:
        return msgspec.structs.replace(
            record, state=ONLINE, currently_active=True, last_active_ts=now_ms, last_sync_ts=now_ms
        )
    if set_presence == UNAVAILABLE:
        return msgspec.structs.replace(
            record, state=UNAVAILABLE, currently_active=False, last_sync_ts=now_ms
        )
    return msgspec.structs.replace(record, last_sync_ts=now_ms)


def seen_acting(record: PresenceRecord, now_ms: int) -> PresenceRecord:
    """The user sent an event at `now_ms`: active now, and back online from idle (a user who set
    themselves offline stays offline)."""
    if record.state == OFFLINE:
        return msgspec.structs.replace(record, last_active_ts=now_ms)
    return msgspec.structs.replace(
        record, state=ONLINE, currently_active=True, last_active_ts=now_ms
    )


def timed_out(
    record: PresenceRecord, *, syncing: bool, now_ms: int, timeouts: Timeouts
) -> PresenceRecord:
    """The record after the timeouts that have passed by `now_ms` (the same record if none)."""
    if record.state == OFFLINE:
        return record
    last_seen = max(record.last_sync_ts, record.last_active_ts)
    if not syncing and now_ms - last_seen > timeouts.offline_ms:
        return msgspec.structs.replace(record, state=OFFLINE, currently_active=False)
    if record.state == ONLINE and now_ms - record.last_active_ts > timeouts.idle_ms:
        return msgspec.structs.replace(record, state=UNAVAILABLE, currently_active=False)
    if record.currently_active and now_ms - record.last_active_ts > timeouts.active_ms:
        return msgspec.structs.replace(record, currently_active=False)
    return record


def is_visible_change(old: PresenceRecord, new: PresenceRecord) -> bool:
    """True if people who can see the user must hear about the change."""
    return (old.state, old.status_msg, old.currently_active) != (
        new.state,
        new.status_msg,
        new.currently_active,
    )


def presence_content(record: PresenceRecord, now_ms: int) -> JsonObject:
    """The body of `GET /presence/{userId}/status` and the content of an m.presence event."""
    content: JsonObject = {"presence": record.state, "currently_active": record.currently_active}
    if record.last_active_ts > 0:
        content["last_active_ago"] = max(0, now_ms - record.last_active_ts)
    if record.status_msg is not None:
        content["status_msg"] = record.status_msg
    return content


def presence_event(record: PresenceRecord, now_ms: int) -> JsonObject:
    """The m.presence event /sync delivers (spec: event-schemas m.presence)."""
    return {
        "type": "m.presence",
        "sender": record.user_id,
        "content": presence_content(record, now_ms),
    }
