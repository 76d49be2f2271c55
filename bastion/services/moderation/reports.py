"""The report queue: users' reports of events, rooms and users, and admins handling them.

Filing (spec: client-server-api#reporting-content): an event report needs the reporter joined
to the room and the event visible to them through the read door (services/visibility.py), else
404 M_NOT_FOUND, as for an event that does not exist or was redacted; a room report needs a room
this server knows, a user report an account that exists (404 otherwise). Filing is a user's own
act, not an admin action: it is not audited. Every admin action on the queue is (`report.dismiss`,
`report.resolve`, `report.delete`): the record commits with the change, and a refused or failed
attempt is recorded as failed (services/audit/trail.py).

`context` shows admins the reported message among its neighbours, as stored (a redacted event
shows no body): the admin console's "message in context"; it is not audited (it changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.ids import UserID
from bastion.services.audit.trail import AuditTrail
from bastion.services.moderation.room_facts import RoomFacts, RoomLabel
from bastion.services.principal import Principal, Requester, log_admin_action
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database
from bastion.store.protocols import UserStore
from bastion.store.protocols.moderation import NewReport, ReportQuery, ReportRecord, ReportStore

__all__ = ["ContextEvent", "ReportQuery", "ReportRecord", "ReportService", "RoomLabel"]

KINDS = ("event", "room", "user")
STATUSES = ("open", "dismissed", "resolved")
MIN_SCORE, MAX_SCORE = -100, 0  # Synapse's range: -100 most offensive, 0 inoffensive
CONTEXT_EVENTS = 3  # events shown on each side of a reported one


@dataclass(frozen=True, slots=True)
class ContextEvent:
    """One event around a reported one, as an admin reads it (no body once redacted)."""

    event_id: str
    sender: str
    type: str
    body: str | None
    origin_server_ts: int
    redacted: bool
    reported: bool


def _context_event(event: StoredEvent, reported_id: str) -> ContextEvent:
    body = event.content.get("body") if event.redacted_by is None else None
    return ContextEvent(
        event.event_id, event.sender, event.type, body if isinstance(body, str) else None,
        event.origin_server_ts, event.redacted_by is not None, event.event_id == reported_id,
    )  # fmt: skip


class ReportService:
    """Files reports for users; lists and handles them for admins."""

    def __init__(
        self,
        db: Database,
        store: ReportStore,
        *,
        visibility: VisibilityService,
        facts: RoomFacts,
        users: UserStore,
        audit: AuditTrail,
        clock: Clock,
    ) -> None:
        self._db, self._store, self._visibility = db, store, visibility
        self._facts, self._users, self._audit, self._clock = facts, users, audit, clock

    async def report_event(
        self, requester: Requester, room_id: str, event_id: str, reason: str | None,
        score: int | None,
    ) -> int:  # fmt: skip
        """`POST /rooms/{roomId}/report/{eventId}`: 404 unless joined and the event visible.
        `score`: kept only within Synapse's range (spec v1.18 removed the parameter, so a
        client's value of any other kind or range is ignored, not refused)."""
        if score is not None and not MIN_SCORE <= score <= MAX_SCORE:
            score = None
        not_found = MatrixError(
            404, Errcode.NOT_FOUND, "The event was not found or you are not joined to the room"
        )
        try:
            access = await self._visibility.room_access(requester.user_id, room_id)
        except MatrixError:
            raise not_found from None
        if access.membership is None or access.membership.membership != "join":
            raise not_found
        event = await self._visibility.visible_event(requester.user_id, room_id, event_id)
        if event.redacted_by is not None:
            raise not_found
        return await self._file(
            NewReport("event", self._clock.now_ms(), requester.user_id, room_id, event_id,
                      event.sender, reason, score)
        )  # fmt: skip

    async def report_room(self, requester: Requester, room_id: str, reason: str) -> int:
        """`POST /rooms/{roomId}/report`: any room this server knows (no need to be in it)."""
        if not await self._facts.room_exists(room_id):
            raise MatrixError(404, Errcode.NOT_FOUND, "The room was not found")
        return await self._file(
            NewReport("room", self._clock.now_ms(), requester.user_id, room_id, reason=reason)
        )

    async def report_user(self, requester: Requester, user_id: str, reason: str) -> int:
        """`POST /users/{userId}/report`: an account of this server."""
        UserID.parse(user_id)
        if await self._users.get_user(self._db, user_id) is None:
            raise MatrixError(404, Errcode.NOT_FOUND, "The user was not found")
        return await self._file(
            NewReport(
                "user", self._clock.now_ms(), requester.user_id, target_user_id=user_id,
                reason=reason,
            )
        )  # fmt: skip

    async def _file(self, report: NewReport) -> int:
        async with self._db.transaction() as txn:
            return await self._store.insert(txn, report)

    # Admins.

    async def list(self, actor: Principal, query: ReportQuery) -> tuple[list[ReportRecord], int]:
        """A page of reports and the number matching (admins only)."""
        actor.require_admin()
        if query.kind is not None and query.kind not in KINDS:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"unknown report kind {query.kind!r}")
        if query.status is not None and query.status not in STATUSES:
            raise MatrixError(400, Errcode.INVALID_PARAM, f"unknown status {query.status!r}")
        return await self._store.find(self._db, query)

    async def get(
        self, actor: Principal, report_id: int, *, kind: str | None = None
    ) -> ReportRecord:
        """One report (of `kind`, when given); 404 M_NOT_FOUND otherwise."""
        actor.require_admin()
        report = await self._store.get(self._db, report_id)
        if report is None or (kind is not None and report.kind != kind):
            raise MatrixError(404, Errcode.NOT_FOUND, f"no report {report_id}")
        return report

    async def labels(self, actor: Principal, room_ids: set[str]) -> dict[str, RoomLabel]:
        """Names and canonical aliases of the reports' rooms."""
        actor.require_admin()
        return await self._facts.labels(room_ids)

    async def event_json(self, actor: Principal, event_id: str) -> dict[str, Any] | None:
        """The reported event as stored (its redacted form once redacted)."""
        actor.require_admin()
        return await self._facts.event_json(event_id)

    async def context(
        self, actor: Principal, report_id: int, *, around: int = CONTEXT_EVENTS
    ) -> tuple[ContextEvent, ...]:
        """An event report's event with up to `around` events on each side, oldest first
        (empty for a report of a room or a user, or an event no longer stored)."""
        report = await self.get(actor, report_id)
        if report.event_id is None:
            return ()
        events = await self._facts.events_around(report.event_id, before=around, after=around)
        return tuple(_context_event(e, report.event_id) for e in events)

    async def delete(self, actor: Principal, report_id: int, *, kind: str | None = None) -> None:
        """Remove a report from the queue (Synapse's DELETE), audited `report.delete`."""
        actor.require_admin()
        async with self._audit.attempt(actor, "report.delete", str(report_id)):
            report = await self.get(actor, report_id, kind=kind)
            async with self._db.transaction() as txn:
                if not await self._store.delete(txn, report_id):
                    raise MatrixError(404, Errcode.NOT_FOUND, f"no report {report_id}")
                await self._audit.record(txn, actor, "report.delete", str(report_id),
                                         _summary(report))  # fmt: skip
        log_admin_action(actor, f"deleted report {report_id}")

    async def set_status(self, actor: Principal, report_id: int, status: str) -> ReportRecord:
        """Dismiss or resolve a report, audited `report.dismiss` / `report.resolve`."""
        actor.require_admin()
        action = {"dismissed": "report.dismiss", "resolved": "report.resolve"}[status]
        async with self._audit.attempt(actor, action, str(report_id)):
            report = await self.get(actor, report_id)
            async with self._db.transaction() as txn:
                now = self._clock.now_ms()
                await self._store.set_status(txn, report_id, status, actor.audit_id, now)
                details = {**_summary(report), "previous_status": report.status}
                await self._audit.record(txn, actor, action, str(report_id), details)
        log_admin_action(actor, f"{status} report {report_id}")
        return await self.get(actor, report_id)


def _summary(report: ReportRecord) -> dict[str, Any]:
    """What the audit record keeps of a report."""
    return {
        "kind": report.kind,
        "reporter": report.reporter,
        "room_id": report.room_id,
        "event_id": report.event_id,
        "user_id": report.target_user_id,
    }
