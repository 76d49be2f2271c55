"""The user-redaction job: removes all of a user's messages, in bounded batches, resumably.

Safety design (destructive code, docs/subsystems/workers.md):
- Bounded: a job covers the user's messages that existed when it was asked for (positions up
  to `upto_position`), never what they send afterwards; each `step` handles at most `batch`
  messages, oldest first.
- Resumable and idempotent: the progress (`after_position`, counts) commits after each batch;
  a job stopped mid-batch resumes from the last committed progress, and the messages it had
  already redacted are no longer selected (the query skips redacted events), so none is
  redacted twice. The job row is the only state: a restart picks up every `pending` job.
- Each redaction is an ordinary event of the moderation account (acting.py) under the room's
  auth rules, in its own transaction. A room where the account cannot get power (or in) is
  refused once per batch, its messages counted as `refused` and skipped: one closed room never
  blocks the others. The job ends `complete` with both counts; its completion is audited.
- `ServerActor` does the work: the admin's request was audited when the job was queued, and
  promotions made along the way are audited (`room.promote`) under the job's name.
- A per-room limit (Synapse's `limit`: only the newest messages of each room) is a floor per
  room fixed when the job is queued (`room_floors`): older messages of that room are passed
  over as the job's progress goes by them.
- Each message it could not redact is kept with the reason (`failed`, Synapse's
  `failed_redactions`; the first `FAILED_KEPT`, `refused` counts every one).
- Dry run: `AdminRedactions.start_user_redaction(dry_run=True)` counts, writes nothing.
"""

from __future__ import annotations

import logging

import msgspec

from bastion.clock import Clock
from bastion.errors import MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.moderation.acting import ModeratorAccess
from bastion.services.moderation.redactions import COMPLETE, redact_as_moderator
from bastion.services.principal import ServerActor
from bastion.services.rooms.pipeline import EventPipeline
from bastion.store.database import Database
from bastion.store.protocols.moderation import FAILED_KEPT, RedactionJob, RedactionJobStore

log = logging.getLogger(__name__)

BATCH = 100


class RedactionJobRunner:
    """Advances pending user-redaction jobs one batch at a time."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        *,
        access: ModeratorAccess,
        jobs: RedactionJobStore,
        audit: AuditTrail,
        clock: Clock,
        batch: int = BATCH,
    ) -> None:
        self._db, self._pipeline, self._access = db, pipeline, access
        self._jobs, self._audit, self._clock, self._batch = jobs, audit, clock, batch

    async def run_pending(self, *, batch: int | None = None) -> bool:
        """One batch of every pending job; True while any job has work left."""
        more = False
        for job in await self._jobs.pending(self._db):
            more = not await self.step(job, batch=batch) or more
        return more

    async def run_to_completion(self) -> None:
        """Every pending job to its end (tests, and the CLI)."""
        while await self.run_pending():
            pass

    async def step(self, job: RedactionJob, *, batch: int | None = None) -> bool:
        """One batch of `job` (`batch` messages at most, the runner's size by default), its
        progress committed after; True once the job is complete."""
        batch = batch or self._batch
        actor = ServerActor(f"redaction job {job.job_id} for {job.requested_by}")
        messages = await self._jobs.messages_of(self._db, job, batch)
        floors = job.room_floors or {}
        ready: dict[str, str | MatrixError] = {}  # room -> moderation account, or why not
        failed = dict(job.failed)
        redacted = refused = 0
        for position, event_id, room_id in messages:
            if position < floors.get(room_id, 0):
                continue  # older than the room's newest `limit` messages
            if room_id not in ready:
                ready[room_id] = await self._moderator_in(actor, room_id, job)
            moderator = ready[room_id]
            refusal = (
                moderator
                if isinstance(moderator, MatrixError)
                else await self._redact(job, room_id, moderator, event_id)
            )
            if refusal is not None:  # refused here: count it, keep why, go on
                refused += 1
                if len(failed) < FAILED_KEPT:
                    failed[event_id] = refusal.message
                continue
            redacted += 1
        done = len(messages) < batch
        progressed = msgspec.structs.replace(
            job,
            status=COMPLETE if done else job.status,
            after_position=messages[-1][0] if messages else job.after_position,
            redacted=job.redacted + redacted,
            refused=job.refused + refused,
            failed=failed,
            updated_ts=self._clock.now_ms(),
        )
        async with self._db.transaction() as txn:
            await self._jobs.update(txn, progressed)
            if done:
                details = {
                    "job_id": job.job_id,
                    "phase": "complete",
                    "redacted": progressed.redacted,
                    "refused": progressed.refused,
                }
                await self._audit.record(txn, actor, "user.redact_all", job.user_id, details)
        return done

    async def _redact(
        self, job: RedactionJob, room_id: str, moderator: str, event_id: str
    ) -> MatrixError | None:
        """Redact one message; the auth rules' refusal, if any."""
        try:
            await redact_as_moderator(self._pipeline, room_id, moderator, event_id, job.reason)
        except MatrixError as exc:
            log.warning("redaction job %s: %s refused: %s", job.job_id, event_id, exc.message)
            return exc
        return None

    async def _moderator_in(
        self, actor: ServerActor, room_id: str, job: RedactionJob
    ) -> str | MatrixError:
        try:
            return await self._access.act_in(actor, room_id)
        except MatrixError as exc:
            log.warning("redaction job %s: cannot act in %s: %s", job.job_id, room_id, exc.message)
            return exc
