"""Wiring of the moderation services (services/moderation/), called by wiring.py's room services.

Kept beside the composition root (only `app/` names concrete stores) so the shared wiring file
grows by one line: the report queue, the moderation account's access, admin redactions and the
runner of user-redaction jobs, built from the room services they stand on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.clock import Clock
from bastion.services.audit.trail import AuditTrail
from bastion.services.moderation.acting import ModeratorAccess, Promoter
from bastion.services.moderation.jobs import RedactionJobRunner
from bastion.services.moderation.redactions import AdminRedactions
from bastion.services.moderation.removals import AdminRemovals
from bastion.services.moderation.reports import ReportService
from bastion.services.moderation.room_facts import RoomFacts
from bastion.services.policy.service import PolicyService
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.pipeline import EventPipeline
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.moderation import SqlRedactionJobStore, SqlReportStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.state import SqlStateStore
from bastion.store.sql.users import SqlUserStore


@dataclass(frozen=True, slots=True)
class ModerationParts:
    """What the moderation services are built from (all built by wiring.py first)."""

    db: Database
    clock: Clock
    pipeline: EventPipeline
    visibility: VisibilityService
    creator: RoomCreator
    promoter: Promoter
    policy: PolicyService
    audit: AuditTrail


def moderation_services(parts: ModerationParts) -> dict[str, Any]:
    """`reports`, `redactions`, `removals` and `redaction_jobs` for `Services`."""
    db, memberships, users = parts.db, SqlMembershipStore(), SqlUserStore()
    facts = RoomFacts(db, events=SqlEventStore(), state=SqlStateStore(), rooms=SqlRoomStore())
    access = ModeratorAccess(
        db, parts.pipeline, promoter=parts.promoter, policy=parts.policy, facts=facts,
        creator=parts.creator, memberships=memberships, users=users,
    )  # fmt: skip
    jobs = SqlRedactionJobStore()
    return {
        "reports": ReportService(
            db, SqlReportStore(), visibility=parts.visibility, facts=facts, users=users,
            audit=parts.audit, clock=parts.clock,
        ),
        "redactions": AdminRedactions(
            db, parts.pipeline, access=access, facts=facts, jobs=jobs, audit=parts.audit,
            clock=parts.clock,
        ),
        "removals": AdminRemovals(
            db, parts.pipeline, access=access, memberships=memberships, audit=parts.audit
        ),
        "redaction_jobs": RedactionJobRunner(
            db, parts.pipeline, access=access, jobs=jobs, audit=parts.audit, clock=parts.clock
        ),
    }  # fmt: skip
