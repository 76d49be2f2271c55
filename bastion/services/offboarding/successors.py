"""Step `successors`: in every room where the leaver is the last admin, promote a successor.

Who counts as an admin is `PowerLevels.admins()` (level 100 or more, and in v12 the room's
creators), among the room's joined members: an admin who left can no longer act, and a v12
creator who leaves keeps a power nobody can lower but can use no more. So the leaver is the last
admin when no other joined member is one; that holds for a v12 creator too.

The successor is the leaver's `manager` when set, active and joined to the room; else the
policy's `rooms.fallback_admin` when set and active (invited by the promotion when not a
member). Promotion goes through `RoomPromoter.promote` as the server, which acts through a local
member with power: the leaver themself, still joined at this step (this is why it runs before
`leave`). A room with no possible successor, or whose promotion fails, is named in the report's
`rooms_without_successor`; the job goes on.

The promotion commits in a transaction of its own (the promoter's), so the job saves its intent
first (`successors_pending`): a job stopped between the promotion and its progress finds the
room no longer needing a successor when resumed, and reports the pending successor as promoted
once it sees them an admin there.
"""

from __future__ import annotations

import logging

from bastion.errors import MatrixError
from bastion.events.types import Membership
from bastion.services.offboarding.job import Checkpoint, JobRun, OffboardingDeps, note
from bastion.services.power_levels import current_power_levels
from bastion.services.principal import ServerActor

log = logging.getLogger(__name__)

SERVER = ServerActor("offboarding")


async def promote_successors(deps: OffboardingDeps, run: JobRun, checkpoint: Checkpoint) -> None:
    """Run the step for every room the leaver is joined to, saving progress after each."""
    stores, user_id = deps.stores, run.user_id
    joined = await stores.memberships.rooms_of_user(deps.db, user_id, [Membership.JOIN])
    user = await stores.users.get_user(deps.db, user_id)
    manager = user.manager if user is not None else None
    fallback = (await deps.policy.current()).rooms.fallback_admin
    report = run.report
    for room_id in sorted(r.room_id for r in joined):
        if not await is_last_admin(deps, room_id, user_id):
            await _settle_pending(deps, run, room_id)
            continue
        successor = await choose_successor(deps, room_id, user_id, manager, fallback)
        if successor is not None:
            report.successors_pending[room_id] = successor
            async with deps.db.transaction() as t:
                await run.save(t, deps)  # the intent, before the promotion commits
        if successor is not None and await _promote(deps, room_id, successor):
            report.successors_promoted[room_id] = successor
        else:
            note(report.rooms_without_successor, room_id)
        report.successors_pending.pop(room_id, None)
        async with deps.db.transaction() as t:
            await run.save(t, deps)
        await checkpoint("successors", room_id)
    async with deps.db.transaction() as t:
        await run.save(t, deps, step=run.next_step())


async def _settle_pending(deps: OffboardingDeps, run: JobRun, room_id: str) -> None:
    """A room no longer needing a successor, met again by a resumed job: if the successor the
    stopped run was promoting is now an admin, that promotion committed; report it."""
    successor = run.report.successors_pending.pop(room_id, None)
    if successor is None:
        return
    stores = deps.stores
    levels = await current_power_levels(deps.db, stores.rooms, stores.state, room_id)
    if successor in levels.admins():
        run.report.successors_promoted[room_id] = successor
    async with deps.db.transaction() as t:
        await run.save(t, deps)


async def is_last_admin(deps: OffboardingDeps, room_id: str, user_id: str) -> bool:
    """True when `user_id` is an admin of the room and no other joined member is."""
    stores = deps.stores
    levels = await current_power_levels(deps.db, stores.rooms, stores.state, room_id)
    admins = levels.admins()
    if user_id not in admins:
        return False
    joined = set(await stores.memberships.members(deps.db, room_id, [Membership.JOIN]))
    return not (admins & joined) - {user_id}


async def choose_successor(
    deps: OffboardingDeps, room_id: str, user_id: str, manager: str | None, fallback: str | None
) -> str | None:
    """Who would succeed `user_id` as the room's admin (the step, and preview.py's dry run)."""
    if manager is not None and manager != user_id and await _is_active(deps, manager):
        record = await deps.stores.memberships.get_membership(deps.db, manager, room_id)
        if record is not None and record.membership == Membership.JOIN:
            return manager
    if fallback is not None and fallback != user_id and await _is_active(deps, fallback):
        return fallback
    return None


async def _is_active(deps: OffboardingDeps, user_id: str) -> bool:
    user = await deps.stores.users.get_user(deps.db, user_id)
    return user is not None and not user.is_deactivated


async def _promote(deps: OffboardingDeps, room_id: str, successor: str) -> bool:
    try:
        await deps.promoter.promote(SERVER, room_id, successor, level=100)
    except MatrixError as exc:
        log.warning("offboarding: could not promote %s in %s: %s", successor, room_id, exc.message)
        return False
    return True
