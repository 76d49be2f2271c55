"""The read door holds: only `services/visibility.py` reads events for clients.

Retention and legal hold rely on every client read of an event passing the visibility check,
which `VisibilityService` does in the same call as the fetch. This test reads the source of
`bastion/services/` and fails when a module outside the allowed list below holds the event or
state store, or calls one of the store methods that return events. A new reader for clients
belongs behind a fetch-and-check method of the door; a new server-internal reader is added here
with its reason, and to the list in `services/visibility.py`'s docstring.
"""

from __future__ import annotations

import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "bastion" / "services"
DOOR = "visibility.py"

# module (relative to bastion/services/) -> why it may read events or state without the door
ALLOWED = {
    "rooms/pipeline.py": "auth state of the event being written",
    "power_levels.py": "power levels for authorisation checks",
    "rooms/aliases.py": "power levels for authorisation checks",
    "directory/rooms.py": "power levels for authorisation checks; published rooms' state",
    "push/recorder.py": "power levels inside the event's transaction",
    "rooms/messages.py": "write-path checks: current state before set_state, redaction target",
    "rooms/redaction.py": "pruning redacted events (destructive job)",
    "rooms/member_profiles.py": "the user's own member events, to propagate a profile change",
    "search/indexer.py": "backfilling the search index",
    "sync/service.py": "the viewer's own member events (newly joined?) and active room IDs",
    "sync/as_of.py": "the viewer's own member events, walked back to the sync's window",
    "formatting/formatter.py": "redacted_because of events that already passed the door",
    "recent_events.py": "the door's own shared fetch of /sync windows (read only by the door)",
    "push/delivery/worker.py": "events whose notifications were computed for members at send",
    "rooms/promotion.py": "power levels and creators of the room a promotion writes to",
    "dlp/hook.py": "write-path check: is the room of a hit encrypted (m.room.encryption)",
    "offboarding/job.py": "write path: power levels of the rooms the offboarding job walks",
    "rooms/room_entry.py": "write path: a room's join rule before an admin's or a group's join",
    "rooms/restricted_joins.py": "write path: a restricted room's join rule, power levels and "
    "version, to admit a join and name who admits it",
    "rooms/upgrade.py": "write path: an upgraded room's state, by one who may tombstone it",
    "suspensions.py": "write-path check: the sender of a suspended account's redaction target",
    "admin/rooms.py": "server admins' room state (Synapse's room state API), never a client",
    "moderation/room_facts.py": "admins' reads: a reported event, room names, power levels",
    "appservices/delivery.py": "application service transactions: events in the namespaces an "
    "administrator registered, as clients see them (formatted, retention applied); no viewer",
    "media/admin.py": "server admins quarantining the files an event names (its mxc:// URIs "
    "only, read before the event is redacted); nothing of the event is shown",
    "retention/history_purge.py": "server admins purging a room's history up to an event: its "
    "room and stream position only, nothing of it is shown",
    "export/writer.py": "compliance export: server admins only, audited; must include what "
    "clients never see (originals of redacted and held events), so no viewer to check for",
}

STORE_NAMES = re.compile(r"\b(EventStore|StateStore)\b")
EVENT_READS = re.compile(
    r"\.(get_event|get_events|room_events_between|recent_events_in_rooms|event_near_time"
    r"|current_state|current_events|current_state_changed_after|state_at|children"
    r"|thread_roots|find_hits|events_to_backfill|export_events)\("
)


def _bypasses(source: str) -> list[str]:
    """Lines that hold an event/state store or read events other than through the door."""
    return [
        line.strip()
        for line in source.splitlines()
        if STORE_NAMES.search(line) or (EVENT_READS.search(line) and "visibility." not in line)
    ]


def test_only_the_door_and_named_exceptions_read_events() -> None:
    offenders: dict[str, list[str]] = {}
    for path in sorted(SERVICES.rglob("*.py")):
        name = path.relative_to(SERVICES).as_posix()
        if name == DOOR or name in ALLOWED:
            continue
        if lines := _bypasses(path.read_text(encoding="utf-8")):
            offenders[name] = lines
    assert offenders == {}, (
        "read events through services/visibility.py (fetch-and-check), or name the module "
        f"and why in ALLOWED and in visibility.py's docstring: {offenders}"
    )


def test_every_allowed_exception_names_a_module() -> None:
    """A moved or deleted module takes its entry (and visibility.py's docstring line) along."""
    assert [name for name in ALLOWED if not (SERVICES / name).is_file()] == []


def test_the_api_facing_readers_are_behind_the_door() -> None:
    readers = [
        "rooms/reading.py",
        "relations/reading.py",
        "search/service.py",
        "sync/rooms.py",
        "push/notifications.py",
        "ephemeral/receipts.py",
        "sliding_sync/room_results.py",
    ]
    for name in readers:
        assert name not in ALLOWED
        source = (SERVICES / name).read_text(encoding="utf-8")
        assert "_visibility." in source, name


def test_the_check_catches_a_bypass() -> None:
    assert _bypasses("        event = await self._events.get_event(self._db, event_id)\n")
    assert _bypasses("from bastion.store.protocols import EventStore\n")
    assert not _bypasses("        event = await self._visibility.visible_event(v, r, e)\n")
