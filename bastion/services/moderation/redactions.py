"""Admin removal of messages: one event (`redact_event`), or all of a user's messages in one room
or everywhere (`start_user_redaction`, done by the durable job in jobs.py).

Every redaction is an ordinary `m.room.redaction` sent by the moderation account (acting.py),
with the admin's reason, through the pipeline and the room version's auth rules; the pipeline
rewrites the stored target (services/rooms/redaction.py). Audit: `event.redact` commits in the
redaction's own transaction; `user.redact_all` commits with the job row that asks for it; a
refused or failed attempt of either is recorded as failed. `dry_run` counts what a user
redaction would remove and writes nothing (not audited: it changes nothing).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.ids import UserID
from bastion.services.audit.trail import AuditTrail
from bastion.services.moderation.acting import ModeratorAccess
from bastion.services.moderation.room_facts import RoomFacts
from bastion.services.principal import Principal, log_admin_action
from bastion.services.rooms.pipeline import EventPipeline
from bastion.store.database import Database, Queryable
from bastion.store.protocols.moderation import RedactionJob, RedactionJobStore

__all__ = ["AdminRedactions", "RedactionJob", "redact_as_moderator"]

PENDING, COMPLETE = "pending", "complete"


async def redact_as_moderator(
    pipeline: EventPipeline, room_id: str, moderator: str, event_id: str, reason: str | None,
    *, also: Any = None,
) -> StoredEvent:  # fmt: skip
    """Send the redaction of `event_id` as the moderation account."""
    content: dict[str, Any] = {"redacts": event_id}
    if reason:
        content["reason"] = reason
    draft = EventDraft(EventType.REDACTION, moderator, content)
    return await pipeline.send(room_id, draft, also=also)


class AdminRedactions:
    """Redacting for admins: one event at once, or a user's messages through a job."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        *,
        access: ModeratorAccess,
        facts: RoomFacts,
        jobs: RedactionJobStore,
        audit: AuditTrail,
        clock: Clock,
    ) -> None:
        self._db, self._pipeline, self._access, self._facts = db, pipeline, access, facts
        self._jobs, self._audit, self._clock = jobs, audit, clock
        # Set when a job is queued: the worker (workers/moderation_jobs.py) waits on it.
        self.work_added = asyncio.Event()

    async def redact_event(
        self, actor: Principal, room_id: str, event_id: str, reason: str | None
    ) -> str:
        """Redact any event of a room, as the moderation account; returns the redaction's ID."""
        actor.require_admin()
        async with self._audit.attempt(actor, "event.redact", event_id):
            target = await self._facts.event(event_id)
            if target is None or target.room_id != room_id:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown event {event_id} in {room_id}")
            moderator = await self._access.act_in(actor, room_id)
            details = {"room_id": room_id, "sender": target.sender, "reason": reason,
                       "as": moderator}  # fmt: skip

            async def audit_with(t: Queryable, event: StoredEvent) -> None:
                await self._audit.record(
                    t, actor, "event.redact", event_id, {**details, "redaction": event.event_id}
                )

            redaction = await redact_as_moderator(
                self._pipeline, room_id, moderator, event_id, reason, also=audit_with
            )
        log_admin_action(actor, f"redacted {event_id} in {room_id}")
        return redaction.event_id

    async def start_user_redaction(
        self, actor: Principal, user_id: str, room_id: str | None, reason: str | None,
        *, dry_run: bool = False,
    ) -> RedactionJob | int:  # fmt: skip
        """Queue the removal of all of `user_id`'s messages (in `room_id`, or everywhere).

        Returns the queued job; with `dry_run`, only how many messages it would remove.
        """
        actor.require_admin()
        UserID.parse(user_id)
        if dry_run:
            await self._require_room(room_id)
            return (await self._jobs.count_messages(self._db, user_id, room_id))[0]
        async with self._audit.attempt(actor, "user.redact_all", user_id):
            await self._require_room(room_id)
            await self._access.moderator()  # refuse now, not in the background, when unset
            now = self._clock.now_ms()
            async with self._db.transaction() as txn:
                count, upto = await self._jobs.count_messages(txn, user_id, room_id)
                job = RedactionJob(
                    secrets.token_urlsafe(12), actor.audit_id, user_id, room_id, reason,
                    PENDING, 0, upto, 0, 0, None, now, now,
                )  # fmt: skip
                await self._jobs.insert(txn, job)
                details = {"job_id": job.job_id, "room_id": room_id, "reason": reason,
                           "messages": count}  # fmt: skip
                await self._audit.record(txn, actor, "user.redact_all", user_id, details)
        log_admin_action(actor, f"queued the redaction of {user_id}'s messages ({job.job_id})")
        self.work_added.set()
        return job

    async def job(self, actor: Principal, job_id: str) -> RedactionJob:
        """A user-redaction job and its progress; 404 M_NOT_FOUND for an unknown one."""
        actor.require_admin()
        job = await self._jobs.get(self._db, job_id)
        if job is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no redaction job {job_id}")
        return job

    async def _require_room(self, room_id: str | None) -> None:
        if room_id is not None and not await self._facts.room_exists(room_id):
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")
