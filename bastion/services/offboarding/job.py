"""An offboarding job while it runs: its collaborators, its steps, and how progress is saved.

Steps run in this order, each saving the job's next step (and the report so far) in the
transaction of its last piece of work, so a job stopped anywhere resumes where it stopped:
`revoke` → `successors` → `profile` (erase only) → `leave` → `unlist` → `erase` (erase only)
→ `files` (erase only) → `done`. Within `successors` and `leave`, progress is saved after every
room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bastion.clock import Clock
from bastion.pubsub.base import Bus
from bastion.services.accounts import AccountService
from bastion.services.audit.trail import AuditTrail
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.offboarding.holds import HoldChecker
from bastion.services.offboarding.report import OffboardingReport, encode_report
from bastion.services.policy.service import PolicyService
from bastion.services.rooms.member_profiles import MemberProfileUpdater
from bastion.services.rooms.pipeline import EventPipeline
from bastion.services.rooms.promotion import RoomPromoter
from bastion.store.database import Database, Queryable
from bastion.store.protocols import (
    MembershipStore,
    ProfileStore,
    RoomDirectoryStore,
    RoomStore,
    SearchStore,
    StateStore,
    UserStore,
)
from bastion.store.protocols.compliance import DeletedMedia
from bastion.store.protocols.offboarding import OffboardingJobStore
from bastion.store.protocols.pushers import PusherStore

STEPS = ("revoke", "successors", "profile", "leave", "unlist", "erase", "files", "done")
ERASE_ONLY = frozenset({"profile", "erase", "files"})
REASON = "offboarded"

# Called after each room's work commits, with (step, room_id): a seam for tests that stop a
# job part-way (the default does nothing).
Checkpoint = Callable[[str, str], Awaitable[None]]


async def no_checkpoint(step: str, room_id: str) -> None:
    """The default checkpoint: nothing."""


class UploadEraser(Protocol):
    """Deletes an erased account's uploads nothing names any more (services/media/erasure.py)."""

    async def delete_rows(self, q: Queryable, user_id: str) -> tuple[list[DeletedMedia], int]: ...
    async def delete_files(self, deleted: Sequence[DeletedMedia]) -> None: ...


@dataclass(frozen=True, slots=True)
class OffboardingStores:
    """The stores offboarding reads and writes."""

    jobs: OffboardingJobStore
    users: UserStore
    pushers: PusherStore
    memberships: MembershipStore
    rooms: RoomStore
    state: StateStore
    profiles: ProfileStore
    room_directory: RoomDirectoryStore
    search: SearchStore


@dataclass(frozen=True, slots=True)
class OffboardingDeps:
    """Everything a job works with (wired once in app/wiring.py)."""

    db: Database
    stores: OffboardingStores
    accounts: AccountService
    pipeline: EventPipeline
    promoter: RoomPromoter
    policy: PolicyService
    member_profiles: MemberProfileUpdater
    user_directory: UserDirectoryIndex
    audit: AuditTrail
    bus: Bus
    holds: HoldChecker
    clock: Clock
    uploads: UploadEraser


@dataclass
class JobRun:
    """A job in progress: its identity, the next step, the erasure cursor and the report."""

    job_id: str
    user_id: str
    erase: bool
    step: str
    erase_after: int
    report: OffboardingReport

    def next_step(self) -> str:
        """The step after the current one, skipping erase-only steps unless erasing."""
        index = STEPS.index(self.step) + 1
        while STEPS[index] in ERASE_ONLY and not self.erase:
            index += 1
        return STEPS[index]

    async def save(self, q: Queryable, deps: OffboardingDeps, *, step: str | None = None) -> None:
        """Write the progress in `q`'s transaction (moving to `step` when given)."""
        if step is not None:
            self.step = step
        self.report.step = self.step
        await deps.stores.jobs.save_progress(
            q, self.job_id, step=self.step, report=encode_report(self.report),
            erase_after=self.erase_after, now_ms=deps.clock.now_ms(),
        )  # fmt: skip


def note(rooms: list[str], room_id: str) -> None:
    """Add `room_id` once (a resumed job may meet a room again)."""
    if room_id not in rooms:
        rooms.append(room_id)
