"""Where a redaction takes effect on stored data: the redacted form replaces the original.

Safety design (spec: client-server-api#redactions, "the server should strip off any keys not in
the following list"; moderators remove offensive names, topics and secrets this way):
- In the transaction that stores a redaction, its target's stored PDU is replaced by the redacted
  form of its room version (`events/redaction.py`), and so is the `prev_content` copy held by the
  state event that replaced it. Every read path (current state, `/state`, `/sync` state and
  timelines, `/context`, `/members`, stripped invite state, relations, notifications, the auth
  rules themselves) reads that one row, so none can return the original: there is no list of
  read paths to keep complete. The search index rows go in the same transaction (the search
  event hook, services/search/indexer.py).
- The original PDU moves to `redacted_event_originals`, which no client path reads; it exists
  for compliance (legal hold, export). The retention purge (services/retention/purge.py) deletes
  it `retention.redacted_content_days` after the redaction unless a legal hold covers it; a held
  original is also copied into the hold store first (services/legal_hold/keeper.py).
- Events redacted before this was in place are pruned by `prune_redacted_batch` (run at start-up
  by `workers/backfills.py`), in bounded batches, one transaction each; it is idempotent (a
  pruned event has its original kept aside, which is what the backlog query excludes) and
  resumes where it stopped.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bastion.events.canonical import canonical_json
from bastion.events.redaction import redact
from bastion.store.database import Database, Queryable
from bastion.store.protocols import EventStore, RoomStore
from bastion.store.records import PrunedEvent

STRICTEST_ALGORITHM = "11"  # the redaction algorithm of room versions 11 and 12

_decoder = msgspec.json.Decoder(dict[str, Any])


def pruned_event(event_id: str, pdu_json: str, room_version: str, now_ms: int) -> PrunedEvent:
    """The redacted form of a stored PDU, ready to store in its place."""
    redacted = redact(_decoder.decode(pdu_json), room_version)
    state_key = redacted.get("state_key")
    return PrunedEvent(
        event_id=event_id,
        room_id=str(redacted.get("room_id", "")),
        type=str(redacted.get("type", "")),
        state_key=state_key if isinstance(state_key, str) else None,
        pdu_json=canonical_json(redacted).decode(),
        content_json=canonical_json(redacted["content"]).decode(),
        redacted_ts=now_ms,
    )


async def take_effect(
    t: Queryable, events: EventStore, target_id: str, redaction_id: str, *, room_version: str,
    now_ms: int,
) -> bool:  # fmt: skip
    """Mark `target_id` redacted by `redaction_id` and prune its stored content, in `t`.

    Returns False when the target is unknown or was already redacted (the first redaction stays).
    """
    if not await events.set_redacted_by(t, target_id, redaction_id):
        return False
    pdu_json = await events.get_pdu(t, target_id)
    if pdu_json is None:
        return False
    await events.replace_with_redacted(t, pruned_event(target_id, pdu_json, room_version, now_ms))
    return True


async def prune_redacted_batch(
    db: Database, events: EventStore, rooms: RoomStore, *, now_ms: int, batch: int = 500
) -> int:
    """Prune one batch of events redacted before redactions pruned content, in one transaction;
    returns how many were pruned (fewer than `batch`: nothing is left)."""
    versions: dict[str, str] = {}
    async with db.transaction() as t:
        backlog = await events.redacted_not_pruned(t, batch)
        for event_id, room_id, pdu_json in backlog:
            if room_id not in versions:
                room = await rooms.get_room(t, room_id)
                # Not a guess at the room's version: an event whose room row is gone is pruned
                # with the algorithm that keeps least (v11 and later strip more than v10), since
                # a redaction must never leave more behind than its room would have.
                versions[room_id] = room.room_version if room is not None else STRICTEST_ALGORITHM
            pruned = pruned_event(event_id, pdu_json, versions[room_id], now_ms)
            await events.replace_with_redacted(t, pruned)
    return len(backlog)
