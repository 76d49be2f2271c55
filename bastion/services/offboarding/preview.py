"""What offboarding a user would do, without doing it: the confirmation page's facts.

A dry run of the `successors` step and a count of what `revoke` and `leave` touch, read with the
same functions the job uses (`is_last_admin`, `choose_successor`), so the preview and the job
cannot disagree about who succeeds whom. Nothing is written; reading is not audited. The job
itself may still differ if the rooms change between the preview and the confirmation.
"""

from __future__ import annotations

import msgspec

from bastion.events.types import Membership
from bastion.services.offboarding.job import OffboardingDeps
from bastion.services.offboarding.successors import choose_successor, is_last_admin


class OffboardingPreview(msgspec.Struct, frozen=True, kw_only=True):
    """What `offboard(user_id)` would do now."""

    user_id: str
    is_deactivated: bool
    rooms: list[str]  # joined rooms, which they would leave
    successors: dict[str, str]  # room where they are the last admin → who would be promoted
    rooms_without_successor: list[str]  # rooms that would be left without an admin
    invites: list[str]  # pending invites that would be rejected


async def preview_offboarding(deps: OffboardingDeps, user_id: str) -> OffboardingPreview:
    """The dry run for an existing account (the caller checks the actor and that it exists)."""
    stores, db = deps.stores, deps.db
    user = await stores.users.get_user(db, user_id)
    manager = user.manager if user is not None else None
    fallback = (await deps.policy.current()).rooms.fallback_admin
    joined = sorted(r.room_id for r in await stores.memberships.rooms_of_user(
        db, user_id, [Membership.JOIN]
    ))  # fmt: skip
    invited = await stores.memberships.rooms_of_user(db, user_id, [Membership.INVITE])
    successors: dict[str, str] = {}
    orphaned: list[str] = []
    for room_id in joined:
        if not await is_last_admin(deps, room_id, user_id):
            continue
        successor = await choose_successor(deps, room_id, user_id, manager, fallback)
        if successor is None:
            orphaned.append(room_id)
        else:
            successors[room_id] = successor
    return OffboardingPreview(
        user_id=user_id,
        is_deactivated=bool(user is not None and user.is_deactivated),
        rooms=joined,
        successors=successors,
        rooms_without_successor=orphaned,
        invites=sorted(r.room_id for r in invited),
    )
