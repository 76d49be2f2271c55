"""Steps `profile`, `erase` and `files` (only with `erase: true`): the leaver's profile,
messages and uploaded files.

Safety design (destructive code, STYLE 3.3.8):
- What is erased: the display name, the avatar and every other profile field (`m.tz`, custom
  fields; cleared in the `profile` step, before the leaver leaves, so the change reaches their
  rooms as member events), and the content of every message
  event they sent (never state events: the rooms' state and auth chains stand on those, and
  never redactions). A message is erased in storage as a redaction would (`pruned_event`: the
  room version's redaction algorithm), but the original is NOT kept aside: erasure is the
  user's right to have it gone (a moderator's redaction keeps it for compliance). The search
  index rows go in the same transaction.
- Legal holds win: each batch is shown to the `HoldChecker` (holds.py) in the transaction that
  erases it, and a held event is left untouched and counted (`events_held`).
- Bounded and resumable: batches of BATCH_SIZE events in sender order, one transaction each,
  which also moves the job's cursor (`erase_after`), so a stopped job resumes after the last
  erased batch and never looks at an event twice. Idempotent: an erased event is marked
  redacted and no longer selected.
- Files (step `files`, after the messages): every upload of theirs that nothing stored names any
  more is deleted (services/media/erasure.py); one an event still names (a room avatar, a held
  message, someone's forward) is kept and counted (`files_kept`). Rows in one transaction with
  the step's progress, bytes after the commit; a resumed job finds the deleted rows gone.
- No dry run: the admin API's job status shows what a run did, and a leaver's account cannot be
  reactivated into its rooms anyway.
"""

from __future__ import annotations

from bastion.pubsub.messages import CacheInvalidated
from bastion.services.offboarding.job import JobRun, OffboardingDeps
from bastion.services.recent_events import ROOM_EVENTS_CACHE
from bastion.services.rooms.redaction import STRICTEST_ALGORITHM, pruned_event
from bastion.store.database import Queryable

BATCH_SIZE = 200
ERASED_BY = "$erased-by-offboarding"  # `redacted_by` of an erased event: no redaction event


async def clear_profile(deps: OffboardingDeps, run: JobRun) -> None:
    """Display name, avatar and other fields removed; the `leave` step sends the change into
    the rooms."""
    async with deps.db.transaction() as t:
        await _clear(deps, run, t)
        await run.save(t, deps, step=run.next_step())


async def _clear(deps: OffboardingDeps, run: JobRun, t: Queryable) -> None:
    await deps.stores.profiles.set_displayname(t, run.user_id, None)
    await deps.stores.profiles.set_avatar_url(t, run.user_id, None)
    await deps.stores.profiles.delete_fields(t, run.user_id)
    run.report.profile_cleared = True


async def erase_messages(deps: OffboardingDeps, run: JobRun) -> None:
    """Erase the leaver's messages batch by batch (see the module docstring)."""
    if not run.report.profile_cleared:  # erasure asked for only after the `profile` step
        async with deps.db.transaction() as t:
            await _clear(deps, run, t)
            await run.save(t, deps)
    while True:
        async with deps.db.transaction() as t:
            finished, rooms = await _erase_batch(deps, run, t)
            await run.save(t, deps, step=run.next_step() if finished else None)
        # Erasure rewrites events in place (no new position): readers' shared windows of those
        # rooms (services/recent_events.py) are dropped here and in every other process.
        for room_id in sorted(rooms):
            deps.bus.publish(CacheInvalidated(ROOM_EVENTS_CACHE, room_id))
        if finished:
            return


async def _erase_batch(deps: OffboardingDeps, run: JobRun, t: Queryable) -> tuple[bool, set[str]]:
    """Erase one batch; whether it was the last, and the rooms whose events were rewritten."""
    stores, user_id = deps.stores, run.user_id
    batch = await stores.jobs.events_sent_by(t, user_id, after=run.erase_after, limit=BATCH_SIZE)
    held = await deps.holds.held_events(t, user_id, batch) if batch else frozenset()
    versions: dict[str, str] = {}
    now = deps.clock.now_ms()
    for event in batch:
        run.erase_after = event.stream_ordering
        if event.event_id in held:
            run.report.events_held += 1
            continue
        if event.room_id not in versions:
            room = await stores.rooms.get_room(t, event.room_id)
            versions[event.room_id] = room.room_version if room else STRICTEST_ALGORITHM
        pruned = pruned_event(event.event_id, event.pdu, versions[event.room_id], now)
        await stores.jobs.erase_event(t, event.event_id, pruned.pdu_json, ERASED_BY)
        await stores.search.delete_event(t, event.event_id)
        run.report.events_redacted += 1
    return len(batch) < BATCH_SIZE, set(versions)


async def erase_files(deps: OffboardingDeps, run: JobRun) -> None:
    """Delete the leaver's uploads nothing names any more (see the module docstring)."""
    async with deps.db.transaction() as t:
        deleted, kept = await deps.uploads.delete_rows(t, run.user_id)
        run.report.files_deleted += len(deleted)
        run.report.files_kept = kept
        await run.save(t, deps, step=run.next_step())
    await deps.uploads.delete_files(deleted)
