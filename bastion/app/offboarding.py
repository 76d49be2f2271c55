"""Wiring of the offboarding workflow (services/offboarding/), called by wiring.py's room
services, beside the composition root (only `app/` names concrete stores) so the shared wiring
file grows by one line. The legal-hold hook is chosen here: the compliance work's checker
(services/legal_hold/erasure.py), which replaced `NoHolds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bastion.clock import Clock
from bastion.pubsub.base import Bus
from bastion.services.accounts import AccountService
from bastion.services.audit.trail import AuditTrail
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.legal_hold.erasure import HeldFromErasure
from bastion.services.media.erasure import UploadErasure
from bastion.services.media.storage import LocalDirectoryStorage
from bastion.services.offboarding import Offboarding
from bastion.services.offboarding.job import OffboardingDeps, OffboardingStores
from bastion.services.policy.service import PolicyService
from bastion.services.rooms.member_profiles import MemberProfileUpdater
from bastion.services.rooms.pipeline import EventPipeline
from bastion.services.rooms.promotion import RoomPromoter
from bastion.store.database import Database
from bastion.store.protocols import SearchStore
from bastion.store.sql.holds import SqlHoldStore
from bastion.store.sql.media_admin import SqlMediaAdminStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.offboarding import SqlOffboardingJobStore
from bastion.store.sql.profiles import SqlProfileStore
from bastion.store.sql.pushers import SqlPusherStore
from bastion.store.sql.retention import SqlRetentionStore
from bastion.store.sql.room_directory import SqlRoomDirectoryStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.state import SqlStateStore
from bastion.store.sql.users import SqlUserStore


@dataclass(frozen=True, slots=True)
class OffboardingParts:
    """What the workflow is built from (all built by wiring.py first)."""

    db: Database
    clock: Clock
    bus: Bus
    accounts: AccountService
    pipeline: EventPipeline
    promoter: RoomPromoter
    policy: PolicyService
    member_profiles: MemberProfileUpdater
    user_directory: UserDirectoryIndex
    search: SearchStore
    audit: AuditTrail
    media: tuple[str, str]  # (the media store's folder, the server name): erased uploads


def offboarding_service(parts: OffboardingParts) -> Offboarding:
    """The `offboarding` service of `Services`."""
    stores = OffboardingStores(
        jobs=SqlOffboardingJobStore(), users=SqlUserStore(), pushers=SqlPusherStore(),
        memberships=SqlMembershipStore(), rooms=SqlRoomStore(), state=SqlStateStore(),
        profiles=SqlProfileStore(), room_directory=SqlRoomDirectoryStore(), search=parts.search,
    )  # fmt: skip
    deps = OffboardingDeps(
        db=parts.db, stores=stores, accounts=parts.accounts, pipeline=parts.pipeline,
        promoter=parts.promoter, policy=parts.policy, member_profiles=parts.member_profiles,
        user_directory=parts.user_directory, audit=parts.audit, bus=parts.bus,
        holds=HeldFromErasure(SqlHoldStore()), clock=parts.clock,
        uploads=UploadErasure(
            SqlMediaAdminStore(), SqlRetentionStore(),
            LocalDirectoryStorage(Path(parts.media[0])), parts.media[1],
        ),
    )  # fmt: skip
    return Offboarding(deps)
