"""The offboarding workflow: one durable, resumable job per leaver (docs/governance.md).

`offboard(actor, user_id, erase=)` is the one way to deactivate an account: the admin APIs, the
CLI, SCIM and the client's own `/account/deactivate` all call it. It opens the user's job (or
resumes the unfinished one: running it again completes it) and runs the steps of job.py:

1. `revoke`: the account is flagged deactivated, every device (with its tokens and pushers)
   deleted and the user taken out of the user directory, in ONE transaction with the job's
   progress and the `user.deactivate` audit record; after commit `SessionsRevoked` goes on the
   bus, which ends the user's parked /syncs with 401 at once (pubsub/wakeups.py).
2. `successors` (successors.py), 3. `profile`, 6. `erase` and 7. `files` (erasure.py, with
`erase` only), 4. `leave` and 5. `unlist` (departure.py).
The job finishes in one transaction with the `user.offboard` audit record, whose details are
the report. A refused or failed run is audited as failed (`AuditTrail.attempt`); its job stays
unfinished, and the resumer (workers/offboarding.py) or the next call completes it.

Invariants: at most one unfinished job per user (a unique index), and one run of it at a time:
a per-user lock in this process, and `Database.exclusive(offboarding_lock(user))` across the
processes of the server (a run elsewhere is waited for, then this one finds the job finished and
runs a new one, which has nothing left to do); every step saves its progress in the
transaction of its work, so nothing is done twice after a stop; the server acts in rooms only
through events the auth rules accept (the leaver, the moderation account, or a promotion).
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from bastion.errors import Errcode, MatrixError
from bastion.pubsub.messages import SessionsRevoked
from bastion.services.audit.trail import actor_fields
from bastion.services.keyed_locks import KeyedLocks
from bastion.services.offboarding.departure import leave_rooms, unlist
from bastion.services.offboarding.erasure import clear_profile, erase_files, erase_messages
from bastion.services.offboarding.job import (
    Checkpoint,
    JobRun,
    OffboardingDeps,
    no_checkpoint,
)
from bastion.services.offboarding.preview import OffboardingPreview, preview_offboarding
from bastion.services.offboarding.report import (
    DONE,
    OffboardingReport,
    decode_report,
    encode_report,
    report_fields,
)
from bastion.services.offboarding.successors import SERVER, promote_successors
from bastion.services.principal import (
    Principal,
    ScimClient,
    log_admin_action,
    require_self_or_admin,
)
from bastion.store.database import UniqueViolation
from bastion.store.protocols.offboarding import OffboardingJobRow

log = logging.getLogger(__name__)

ACTION = "user.offboard"


def offboarding_lock(user_id: str) -> str:
    """The name of the `Database.exclusive` lock a run of `user_id`'s job holds."""
    return f"offboarding {user_id}"


class Offboarding:
    """Runs offboarding jobs: revoke, promote successors, leave, unlist, erase."""

    def __init__(self, deps: OffboardingDeps) -> None:
        self._deps = deps
        self._locks = KeyedLocks()
        # Called after each room's work commits (tests stop a job part-way through it).
        self.checkpoint: Checkpoint = no_checkpoint

    async def offboard(
        self, actor: Principal, user_id: str, *, erase: bool = False
    ) -> OffboardingReport:
        """Offboard `user_id` (resuming their unfinished job, if any); returns the report.

        An admin may offboard anyone; a user may offboard themself (the client API's
        `/account/deactivate`, after UIA); a SCIM client may, since deprovisioning is part of
        provisioning (`active: false`, DELETE). Whoever asks, the server itself acts in the
        rooms (`ServerActor("offboarding")`), so a leaver's own request promotes successors too.
        """
        if not isinstance(actor, ScimClient):  # an IdP deprovisions its leavers (SCIM, §3)
            require_self_or_admin(actor, user_id)
        async with self._deps.audit.attempt(actor, ACTION, user_id):
            await self._deps.accounts.get_user(user_id)  # 404 M_NOT_FOUND
            async with self._lock(user_id), self._deps.db.exclusive(offboarding_lock(user_id)):
                run = await self._open(actor, user_id, erase=erase)
                report = await self._run(actor, run)
        log_admin_action(actor, f"deactivated {user_id}")
        return report

    @property
    def deps(self) -> OffboardingDeps:
        """What this workflow works with (a variant with another hold checker is built from it)."""
        return self._deps

    async def preview(self, actor: Principal, user_id: str) -> OffboardingPreview:
        """What offboarding `user_id` would do now (admins only; nothing is written)."""
        actor.require_admin()
        await self._deps.accounts.get_user(user_id)  # 404 M_NOT_FOUND
        return await preview_offboarding(self._deps, user_id)

    async def job(self, actor: Principal, job_id: str) -> OffboardingReport:
        """A job's status and report (admins only); 404 M_NOT_FOUND for an unknown job."""
        actor.require_admin()
        row = await self._deps.stores.jobs.get_job(self._deps.db, job_id)
        if row is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"no offboarding job {job_id}")
        return decode_report(row.report)

    async def resume_unfinished(self) -> list[OffboardingReport]:
        """Complete every unfinished job (at start: a process that died mid-way left them)."""
        rows = await self._deps.stores.jobs.unfinished_jobs(self._deps.db)
        reports = []
        for row in rows:
            try:
                reports.append(await self.offboard(SERVER, row.user_id, erase=row.erase))
            except Exception:  # one job's failure (audited) must not stop the others
                log.exception("offboarding job %s for %s failed", row.job_id, row.user_id)
        return reports

    def _lock(self, user_id: str) -> asyncio.Lock:
        return self._locks.lock(user_id)

    async def _open(self, actor: Principal, user_id: str, *, erase: bool) -> JobRun:
        try:
            return await self._open_once(actor, user_id, erase=erase)
        except UniqueViolation:  # another process opened the user's job first: resume it
            return await self._open_once(actor, user_id, erase=erase)

    async def _open_once(self, actor: Principal, user_id: str, *, erase: bool) -> JobRun:
        deps = self._deps
        now = deps.clock.now_ms()
        async with deps.db.transaction() as t:
            row = await deps.stores.jobs.unfinished_job_of(t, user_id)
            if row is None:
                job_id = f"off_{secrets.token_urlsafe(12)}"
                report = OffboardingReport(job_id=job_id, user_id=user_id, erase=erase)
                kind, actor_id = actor_fields(actor)
                row = OffboardingJobRow(
                    job_id=job_id, user_id=user_id, actor_kind=kind, actor_id=actor_id,
                    erase=erase, step="revoke", report=encode_report(report), erase_after=0,
                    created_ts=now, updated_ts=now, finished_ts=None,
                )  # fmt: skip
                await deps.stores.jobs.insert_job(t, row)
            run = JobRun(
                job_id=row.job_id, user_id=user_id, erase=row.erase or erase, step=row.step,
                erase_after=row.erase_after, report=decode_report(row.report),
            )  # fmt: skip
            if erase and not row.erase:  # asked again, now with erasure: the job erases too
                run.report.erase = True
                await run.save(t, deps)
        return run

    async def _run(self, actor: Principal, run: JobRun) -> OffboardingReport:
        deps, checkpoint = self._deps, self.checkpoint
        while run.step != DONE:
            match run.step:
                case "revoke":
                    await self._revoke(actor, run)
                case "successors":
                    await promote_successors(deps, run, checkpoint)
                case "profile":
                    await clear_profile(deps, run)
                case "leave":
                    await leave_rooms(deps, run, checkpoint)
                case "unlist":
                    await unlist(deps, run)
                case "erase":
                    await erase_messages(deps, run)
                case "files":
                    await erase_files(deps, run)
                case _:
                    raise MatrixError(500, Errcode.UNKNOWN, f"unknown offboarding step {run.step}")
        run.report.status = DONE
        async with deps.db.transaction() as t:
            await deps.stores.jobs.finish_job(
                t, run.job_id, encode_report(run.report), deps.clock.now_ms()
            )
            await deps.audit.record(t, actor, ACTION, run.user_id, report_fields(run.report))
        return run.report

    async def _revoke(self, actor: Principal, run: JobRun) -> None:
        deps, user_id = self._deps, run.user_id
        async with deps.db.transaction() as t:
            pushers = await deps.stores.pushers.pushers_of(t, user_id)
            devices = await deps.accounts.close_account(t, user_id)
            run.report.sessions_revoked += devices
            run.report.pushers_removed += len(pushers)
            details = {"sessions_revoked": devices, "job": run.job_id}
            await deps.audit.record(t, actor, "user.deactivate", user_id, details)
            await run.save(t, deps, step=run.next_step())
        await deps.bus.publish_confirmed(SessionsRevoked(user_id))  # every process, now
        await deps.accounts.account_closed(user_id)
