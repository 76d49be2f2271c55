"""Steps `leave` and `unlist`: the leaver leaves every room and disappears from the directories.

Who sends the leave (decided, docs/governance.md "Offboarding"):
- a joined room: the policy's moderation account (`rooms.moderator`) kicks the leaver with
  reason "offboarded" when it is joined there and the auth rules let it (its level reaches the
  kick level and exceeds the leaver's); otherwise the leaver leaves themself, with the same
  reason. A self-leave is always allowed by the auth rules (a v12 creator, whom nobody can kick,
  included), and it names no bystander as the remover: the server never kicks in the name of an
  ordinary member.
- a pending invite is rejected and a knock withdrawn: both are the leaver's own leave.
Each membership change commits together with the job's progress (the pipeline's `also`), so a
resumed job never sends one twice; it is a compare-and-set on the member event read
(`replaces`), so a change that raced it is met again on the next pass.

`unlist`: the user directory forgets the account (again: an account deactivated before this
workflow existed may still be indexed), and a published room the leaver left empty is taken out
of the public room directory, which would otherwise list a room nobody can answer in.
"""

from __future__ import annotations

import logging

from bastion.errors import MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.types import EventType, Membership
from bastion.services.offboarding.job import REASON, Checkpoint, JobRun, OffboardingDeps, note
from bastion.services.power_levels import current_power_levels
from bastion.services.rooms.pipeline import StateChangedError
from bastion.store.database import Queryable
from bastion.store.records import MembershipRecord

log = logging.getLogger(__name__)

_PASSES = 3  # a room whose membership raced us is met again on the next pass
_STILL_IN = (Membership.JOIN, Membership.INVITE, Membership.KNOCK)


async def leave_rooms(deps: OffboardingDeps, run: JobRun, checkpoint: Checkpoint) -> None:
    """Leave, reject or withdraw every membership the leaver still has; then move on."""
    if run.erase:  # the cleared profile reaches the rooms while the leaver is still in them
        await deps.member_profiles.profile_changed(run.user_id)
    moderator = (await deps.policy.current()).rooms.moderator
    for _ in range(_PASSES):
        records = await deps.stores.memberships.rooms_of_user(deps.db, run.user_id, _STILL_IN)
        if not records:
            break
        for record in sorted(records, key=lambda r: r.room_id):
            await _leave_one(deps, run, record, moderator)
            await checkpoint("leave", record.room_id)
    async with deps.db.transaction() as t:
        await run.save(t, deps, step=run.next_step())


async def _leave_one(
    deps: OffboardingDeps, run: JobRun, record: MembershipRecord, moderator: str | None
) -> None:
    report, room_id, user_id = run.report, record.room_id, run.user_id
    rooms = {
        Membership.JOIN: report.rooms_left,
        Membership.INVITE: report.invites_rejected,
        Membership.KNOCK: report.knocks_withdrawn,
    }[Membership(record.membership)]
    senders = [user_id]
    if record.membership == Membership.JOIN and await _can_kick(deps, room_id, moderator, user_id):
        senders.insert(0, str(moderator))
    already = room_id in rooms

    async def with_progress(t: Queryable, _event: StoredEvent) -> None:
        note(rooms, room_id)
        await run.save(t, deps)

    for sender in senders:
        content = {"membership": Membership.LEAVE, "reason": REASON}
        draft = EventDraft(EventType.MEMBER, sender, content, user_id)
        try:
            await deps.pipeline.send(room_id, draft, replaces=record.event_id, also=with_progress)
        except StateChangedError:
            return  # the membership changed meanwhile: the next pass reads it again
        except MatrixError as exc:
            if not already and room_id in rooms:
                rooms.remove(room_id)  # noted in a transaction that rolled back
            log.warning("offboarding: %s could not remove %s from %s: %s",
                        sender, user_id, room_id, exc.message)  # fmt: skip
            continue
        return


async def _can_kick(
    deps: OffboardingDeps, room_id: str, moderator: str | None, user_id: str
) -> bool:
    if moderator is None or moderator == user_id:
        return False
    stores = deps.stores
    record = await stores.memberships.get_membership(deps.db, moderator, room_id)
    if record is None or record.membership != Membership.JOIN:
        return False
    levels = await current_power_levels(deps.db, stores.rooms, stores.state, room_id)
    own = levels.user_level(moderator)
    return own >= levels.kick and own > levels.user_level(user_id)


async def unlist(deps: OffboardingDeps, run: JobRun) -> None:
    """Out of the user directory; rooms left empty out of the public room directory."""
    stores, report = deps.stores, run.report
    counts = await stores.memberships.member_counts(deps.db, report.rooms_left)
    async with deps.db.transaction() as t:
        await deps.user_directory.remove(t, run.user_id)
        for room_id in report.rooms_left:
            if counts.get(room_id, {}).get(Membership.JOIN, 0) > 0:
                continue
            if await stores.room_directory.is_published(t, room_id):
                await stores.room_directory.unpublish(t, room_id)
                note(report.rooms_unpublished, room_id)
        await run.save(t, deps, step=run.next_step())
