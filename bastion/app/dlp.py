"""Wiring of data-leak prevention (services/dlp/), beside the composition root so the shared
wiring file grows by a few lines: the hook in the pipeline's list, `dlp` among the services,
and `dlp.connect(...)` once server notices and SCIM groups exist (they are built after the
pipeline)."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.services.audit.trail import AuditTrail
from bastion.services.dlp.hook import DlpHook, DlpStores
from bastion.services.dlp.policies import DlpEngine
from bastion.services.dlp.reviews import DlpAdmin
from bastion.services.policy.service import PolicyService
from bastion.store.database import Database
from bastion.store.sql.dlp_reviews import SqlDlpReviewStore
from bastion.store.sql.state import SqlStateStore


@dataclass(frozen=True, slots=True)
class DlpParts:
    """The DLP event hook and the admin service, sharing one compiled-policy engine."""

    hook: DlpHook
    admin: DlpAdmin


def dlp_parts(db: Database, clock: Clock, policy: PolicyService, audit: AuditTrail) -> DlpParts:
    """Build DLP around the policy service."""
    engine, reviews = DlpEngine(policy), SqlDlpReviewStore()
    hook = DlpHook(db, engine, DlpStores(SqlStateStore(), reviews), audit, clock)
    return DlpParts(hook, DlpAdmin(db, reviews, engine, hook, audit, clock))
