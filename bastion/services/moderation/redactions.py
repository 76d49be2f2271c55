"""Admin removal of messages: one event (`redact_event`), or all of a user's messages in some
rooms or everywhere, optionally within a time window and only the newest per room
(`start_user_redaction`, done by the durable job in jobs.py).

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
from bastion.store.protocols.moderation import RedactionJob, RedactionJobStore, RedactionScope

__all__ = ["AdminRedactions", "RedactionJob", "RedactionScope", "redact_as_moderator"]

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
        self, actor: Principal, scope: RedactionScope, reason: str | None,
        *, per_room: int | None = None, dry_run: bool = False,
    ) -> RedactionJob | int:  # fmt: skip
        """Queue the removal of the scope's messages; with `per_room`, only that many of the
        newest in each room (Synapse's `limit`).

        Returns the queued job; with `dry_run`, only how many messages it would remove.
        """
        actor.require_admin()
        UserID.parse(scope.user_id)
        if dry_run:
            await self._require_rooms(scope.rooms)
            return (await self._plan(self._db, scope, per_room))[0]
        async with self._audit.attempt(actor, "user.redact_all", scope.user_id):
            await self._require_rooms(scope.rooms)
            await self._access.moderator()  # refuse now, not in the background, when unset
            now = self._clock.now_ms()
            one_room = scope.rooms[0] if scope.rooms is not None and len(scope.rooms) == 1 else None
            async with self._db.transaction() as txn:
                count, upto, floors = await self._plan(txn, scope, per_room)
                job = RedactionJob(
                    secrets.token_urlsafe(12), actor.audit_id, scope.user_id, one_room, reason,
                    PENDING, 0, upto, 0, 0, None, now, now, scope.rooms, scope.after_ts,
                    scope.before_ts, floors,
                )  # fmt: skip
                await self._jobs.insert(txn, job)
                details = {"job_id": job.job_id, "room_id": one_room, "reason": reason,
                           "messages": count}  # fmt: skip
                details |= _scope_details(scope, per_room)
                await self._audit.record(txn, actor, "user.redact_all", scope.user_id, details)
        log_admin_action(actor, f"queued the redaction of {scope.user_id}'s messages {job.job_id}")
        self.work_added.set()
        return job

    async def _plan(
        self, q: Queryable, scope: RedactionScope, per_room: int | None
    ) -> tuple[int, int, dict[str, int] | None]:
        """(how many messages, the newest one's position, each room's floor) of a job."""
        by_room = await self._jobs.count_by_room(q, scope)
        upto = max((newest for _count, newest in by_room.values()), default=0)
        if per_room is None:
            return sum(count for count, _newest in by_room.values()), upto, None
        floors: dict[str, int] = {}
        for room_id, (count, _newest) in by_room.items():
            if count > per_room:
                floor = await self._jobs.nth_newest(q, scope, room_id, per_room)
                if floor is not None:
                    floors[room_id] = floor
        return sum(min(count, per_room) for count, _ in by_room.values()), upto, floors

    async def job(self, actor: Principal, job_id: str) -> RedactionJob:
        """A user-redaction job and its progress; 404 M_NOT_FOUND for an unknown one."""
        actor.require_admin()
        job = await self._jobs.get(self._db, job_id)
        if job is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no redaction job {job_id}")
        return job

    async def unfinished_of(self, actor: Principal, user_id: str) -> list[RedactionJob]:
        """The user's jobs still queued or running (Synapse's API refuses a second one)."""
        actor.require_admin()
        return [job for job in await self._jobs.pending(self._db) if job.user_id == user_id]

    async def _require_rooms(self, rooms: tuple[str, ...] | None) -> None:
        for room_id in rooms or ():
            if not await self._facts.room_exists(room_id):
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown room {room_id}")


def _scope_details(scope: RedactionScope, per_room: int | None) -> dict[str, Any]:
    """The audit record's account of a narrowed scope (nothing for the plain forms)."""
    several = scope.rooms is not None and len(scope.rooms) > 1
    narrowed = {
        "rooms": list(scope.rooms or ()) if several else None,
        "after_ts": scope.after_ts,
        "before_ts": scope.before_ts,
        "per_room": per_room,
    }
    return {key: value for key, value in narrowed.items() if value is not None}


def task_status(job: RedactionJob) -> str:
    """A job in Synapse's task statuses: `scheduled` (nothing done yet), `active`, `complete`,
    `failed` (an error stopped it)."""
    if job.error is not None:
        return "failed"
    if job.status == COMPLETE:
        return "complete"
    started = job.after_position > 0 or job.redacted > 0 or job.refused > 0
    return "active" if started else "scheduled"
