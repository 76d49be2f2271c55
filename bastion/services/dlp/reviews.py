"""For admins: the compliance review queue (`flag` policies' entries) and "try a text".

Listing and resolving need a server admin (`require_admin()`); a resolution is audited
(`dlp.review.resolve`, in the transaction that resolves; a refused one as failed). The tester
runs the policies in force, and every built-in detector, over a text the admin typed and
answers what each finds; the text is neither stored nor audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.dlp.contact import phone_finder
from bastion.services.dlp.content import TextField
from bastion.services.dlp.detectors import BUILTIN
from bastion.services.dlp.hook import DlpHook, NoticeSender
from bastion.services.dlp.policies import MAX_TEXT, DlpEngine, find
from bastion.services.dlp.text import Finding
from bastion.services.policy.enforcement import GroupMembership
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols.dlp import DlpReview, DlpReviewStore

__all__ = ["DlpAdmin", "DlpReview", "PolicyResult", "TextTest"]


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """What one policy in force finds in the tested text."""

    name: str
    action: str
    findings: list[Finding]


@dataclass(frozen=True, slots=True)
class TextTest:
    """The tester's answer: per policy in force, and per built-in detector."""

    policies: list[PolicyResult]
    detectors: dict[str, list[Finding]]


class DlpAdmin:
    """The review queue and the tester; `connect` wires the hook's late collaborators."""

    def __init__(
        self,
        db: Database,
        store: DlpReviewStore,
        engine: DlpEngine,
        hook: DlpHook,
        audit: AuditTrail,
        clock: Clock,
    ) -> None:
        self._db, self._store, self._engine, self._hook = db, store, engine, hook
        self._audit, self._clock = audit, clock

    def connect(self, notices: NoticeSender, notices_sender: str, groups: GroupMembership) -> None:
        """Server notices (for `warn`) and SCIM groups (for scopes), built after the pipeline."""
        self._hook.use_notices(notices, notices_sender)
        self._engine.use_groups(groups)

    async def list_reviews(
        self, actor: Principal, *, status: str | None, after: int, limit: int
    ) -> list[DlpReview]:
        """Entries after `after`, oldest first (`status`: open, resolved, or None for all)."""
        actor.require_admin()
        return await self._store.list_reviews(self._db, status=status, after=after, limit=limit)

    async def resolve(self, actor: Principal, review_id: int, resolution: str) -> DlpReview:
        """Close an open entry with the reviewer's `resolution`; 404 unknown, 409 already closed."""
        actor.require_admin()
        target = str(review_id)
        async with (
            self._audit.attempt(actor, "dlp.review.resolve", target),
            self._db.transaction() as tx,
        ):
            resolved = await self._store.resolve_review(
                    tx, review_id, resolved_by=actor.audit_id,
                    resolved_ts=self._clock.now_ms(), resolution=resolution,
                )  # fmt: skip
            review = await self._store.get_review(tx, review_id)
            if review is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"No DLP review {review_id}")
            if not resolved:
                raise MatrixError(
                    409, Errcode.INVALID_PARAM, f"DLP review {review_id} is already resolved"
                )
            details = {"resolution": resolution, "event_id": review.event_id}
            await self._audit.record(tx, actor, "dlp.review.resolve", target, details)
        return review

    async def test(self, actor: Principal, text: str) -> TextTest:
        """What the policies in force and the built-in detectors find in `text`."""
        actor.require_admin()
        if len(text) > MAX_TEXT:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"text: at most {MAX_TEXT} characters")
        field = TextField("text", ("text",), text)
        policies = await self._engine.compiled()
        by_policy: dict[str, PolicyResult] = {
            p.name: PolicyResult(p.name, p.action, []) for p in policies
        }
        for hit in find(policies, [field]):
            by_policy[hit.policy.name].findings.append(hit.finding)
        detectors = {name: detect(text) for name, detect in BUILTIN.items()}
        detectors["phone"] = phone_finder(await self._engine.phone_regions())(text)
        return TextTest(list(by_policy.values()), detectors)
