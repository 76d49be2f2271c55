"""Deleting a room (Synapse's Delete Room API): a durable background job, one row per job.

Safety design (destructive code):
- **Scheduling** (`schedule`) checks the request, then in one transaction writes the job row
  (`scheduled`), blocks the room if asked (at once: nobody joins while the job waits) and the
  `room.delete` audit record with the options. Only one unfinished job per room.
- **Running** (`run_pending`, called by `workers/room_deletion.py` and by the synchronous v1
  form) takes each unfinished job in creation order. Each step is idempotent and its progress is
  written to the job row before the next starts, so a job interrupted anywhere (a crash, a kill)
  is resumed from its row by the next start and never redoes a finished step:
  1. with `new_room_user_id`: create the room members are moved to (its ID is stored first);
  2. every local member (joined, invited, knocking) leaves, as themselves, with `message` as
     the reason: the server acts for its own users, so no power in the room is needed and the
     auth rules hold; each is moved to the new room, if any. A user whose leave is refused is
     listed in `failed_to_kick_users`; the next run tries again whoever is still in the room;
  3. the room's local aliases are removed (moved to the new room, if any) and it leaves the
     room directory;
  4. with `purge`: the room's events go in batches of `PURGE_BATCH`, each in its own
     transaction, then every other row of the room (store/sql/room_admin.py). A purge with
     members still in the room fails the job unless `force_purge`. Events a legal hold covers
     are never deleted (the clause is in the delete itself): if any remain, the room's rows stay
     too and the job fails saying so (the room is closed, not purged).
- **Finishing** writes `complete` (or `failed` with the error) with the `room.close` audit
  record in the same transaction.

A blocked room cannot be joined, nor anyone invited or let in by a knock: `BlockedRooms`, an
event hook, refuses those member events before they are written (pipeline `check`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

import msgspec
from typing_extensions import override

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.types import EventType, Membership
from bastion.ids import UserID
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import CacheInvalidated
from bastion.services.audit.trail import FAILURE, AuditTrail
from bastion.services.event_hooks import EventHook
from bastion.services.members_cache import MEMBERS_CACHE
from bastion.services.principal import Principal, Requester, ServerActor, log_admin_action
from bastion.services.rooms.create import CreateRoomRequest, RoomCreator
from bastion.services.rooms.pipeline import EventPipeline
from bastion.store.database import Database
from bastion.store.protocols import MembershipStore, RoomDirectoryStore, RoomStore, UserStore
from bastion.store.protocols.room_admin import DeletionJobRow, RoomDeletionStore

log = logging.getLogger(__name__)

PURGE_BATCH = 500
SCHEDULED, ACTIVE, COMPLETE, FAILED = "scheduled", "active", "complete", "failed"
DEFAULT_ROOM_NAME = "Content Violation Notification"
_IN_ROOM = (Membership.JOIN, Membership.INVITE, Membership.KNOCK)


class DeletionOptions(msgspec.Struct, frozen=True):
    """Synapse's request body (unknown fields are ignored)."""

    block: bool = False
    purge: bool = True
    force_purge: bool = False
    message: str | None = None
    new_room_user_id: str | None = None
    room_name: str | None = None


class DeletionResult(msgspec.Struct):
    """Synapse's `shutdown_room`: what the job has done so far."""

    kicked_users: list[str] = msgspec.field(default_factory=list)
    failed_to_kick_users: list[str] = msgspec.field(default_factory=list)
    local_aliases: list[str] = msgspec.field(default_factory=list)
    new_room_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeletionStatus:
    """One job as the status endpoints show it."""

    delete_id: str
    room_id: str
    status: str
    error: str | None
    result: DeletionResult


@dataclass(frozen=True, slots=True)
class DeletionStores:
    """The stores a deletion touches."""

    jobs: RoomDeletionStore
    rooms: RoomStore
    memberships: MembershipStore
    directory: RoomDirectoryStore
    users: UserStore


class RoomDeletion:
    """Schedules and runs room deletions."""

    def __init__(
        self,
        db: Database,
        stores: DeletionStores,
        *,
        pipeline: EventPipeline,
        creator: RoomCreator,
        audit: AuditTrail,
        bus: Bus,
        clock: Clock,
    ) -> None:
        self._db, self._stores, self._pipeline, self._creator = db, stores, pipeline, creator
        self._audit, self._bus, self._clock = audit, bus, clock
        self.wakeup = asyncio.Event()  # set when a job is scheduled (the worker waits on it)

    async def schedule(self, actor: Principal, room_id: str, options: DeletionOptions) -> str:
        """Write a job for `room_id`; returns its `delete_id`."""
        actor.require_admin()
        details = msgspec.structs.asdict(options)
        async with self._audit.attempt(actor, "room.delete", room_id):
            await self._check(room_id, options)
            delete_id = secrets.token_urlsafe(12)
            now = self._clock.now_ms()
            job = DeletionJobRow(
                delete_id, room_id, SCHEDULED, actor.audit_id,
                msgspec.json.encode(options).decode(), _encode(DeletionResult()), None, now, now,
            )  # fmt: skip
            async with self._db.transaction() as t:
                await self._stores.jobs.insert_job(t, job)
                if options.block:
                    await self._stores.jobs.block(t, room_id, actor.audit_id, now)
                await self._audit.record(
                    t, actor, "room.delete", room_id, {**details, "delete_id": delete_id}
                )
        log_admin_action(actor, f"scheduled the deletion of {room_id} ({delete_id})")
        self.wakeup.set()
        return delete_id

    async def status(self, actor: Principal, delete_id: str) -> DeletionStatus:
        """One job; 404 M_NOT_FOUND for an unknown `delete_id`."""
        actor.require_admin()
        job = await self._stores.jobs.get_job(self._db, delete_id)
        if job is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"delete id '{delete_id}' not found")
        return status_of_job(job)

    async def statuses_of_room(self, actor: Principal, room_id: str) -> list[DeletionStatus]:
        """Every job of a room; 404 M_NOT_FOUND when there is none."""
        actor.require_admin()
        jobs = await self._stores.jobs.jobs_of_room(self._db, room_id)
        if not jobs:
            raise MatrixError(404, Errcode.NOT_FOUND, f"No delete task for room_id '{room_id}'")
        return [status_of_job(job) for job in jobs]

    async def run_pending(self) -> int:
        """Run every unfinished job to its end (complete or failed); returns how many ran."""
        self.wakeup.clear()
        jobs = await self._stores.jobs.unfinished_jobs(self._db)
        for job in jobs:
            await self._run(job)
        return len(jobs)

    async def _check(self, room_id: str, options: DeletionOptions) -> None:
        if await self._stores.rooms.get_room(self._db, room_id) is None and not options.block:
            raise MatrixError(404, Errcode.NOT_FOUND, f"Unknown room {room_id}")
        unfinished = [
            j for j in await self._stores.jobs.jobs_of_room(self._db, room_id)
            if j.status in (SCHEDULED, ACTIVE)
        ]  # fmt: skip
        if unfinished:
            raise MatrixError(
                400,
                Errcode.UNKNOWN,
                f"{room_id} is already being deleted ({unfinished[0].delete_id})",
            )
        if options.new_room_user_id is not None:
            user = await self._stores.users.get_user(self._db, options.new_room_user_id)
            local = UserID.parse(options.new_room_user_id).server_name == self._pipeline.server_name
            if user is None or not local or user.is_deactivated:
                raise MatrixError(
                    400, Errcode.INVALID_PARAM, f"User must be local: {options.new_room_user_id}"
                )

    async def _run(self, job: DeletionJobRow) -> None:
        options = msgspec.json.decode(job.options, type=DeletionOptions)
        result = msgspec.json.decode(job.result, type=DeletionResult)
        # The job runs as the server, for the admin who asked (named in the audit record).
        actor = ServerActor(f"room deletion requested by {job.requested_by}")
        try:
            await self._save(job, ACTIVE, result)
            if options.new_room_user_id is not None and result.new_room_id is None:
                result.new_room_id = await self._new_room(options)
                await self._save(job, ACTIVE, result)
            await self._remove_members(job, options, result)
            await self._remove_aliases(job, result)
            if options.purge:
                await self._purge(job.room_id, options, result)
        except Exception as exc:  # the job's row says why; the next job still runs
            log.exception("deleting %s (%s) failed", job.room_id, job.delete_id)
            error = exc.message if isinstance(exc, MatrixError) else type(exc).__name__
            await self._finish(job, actor, FAILED, result, error)
            return
        await self._finish(job, actor, COMPLETE, result, None)

    async def _new_room(self, options: DeletionOptions) -> str:
        user_id = options.new_room_user_id or ""
        owner = Requester(user_id, "", is_admin=False)
        request = CreateRoomRequest(
            preset="public_chat", name=options.room_name or DEFAULT_ROOM_NAME
        )
        room_id = await self._creator.create_room(owner, request)
        if options.message:
            body = {"msgtype": "m.text", "body": options.message}
            await self._pipeline.send(room_id, EventDraft(EventType.MESSAGE, user_id, body))
        return room_id

    async def _remove_members(
        self, job: DeletionJobRow, options: DeletionOptions, result: DeletionResult
    ) -> None:
        server = f":{self._pipeline.server_name}"
        members = await self._stores.memberships.members(self._db, job.room_id, _IN_ROOM)
        result.failed_to_kick_users = []
        for user_id in [m for m in members if m.endswith(server)]:
            content: dict[str, object] = {"membership": Membership.LEAVE}
            if options.message:
                content["reason"] = options.message
            try:
                leave = EventDraft(EventType.MEMBER, user_id, content, user_id)
                await self._pipeline.send(job.room_id, leave)
                if result.new_room_id is not None:
                    join = EventDraft(EventType.MEMBER, user_id, {"membership": "join"}, user_id)
                    await self._pipeline.send(result.new_room_id, join)
            except MatrixError as exc:
                log.warning("%s could not leave %s: %s", user_id, job.room_id, exc.message)
                result.failed_to_kick_users.append(user_id)
            else:
                result.kicked_users.append(user_id)
            await self._save(job, ACTIVE, result)

    async def _remove_aliases(self, job: DeletionJobRow, result: DeletionResult) -> None:
        rooms = self._stores.rooms
        now = self._clock.now_ms()
        async with self._db.transaction() as t:
            aliases = await rooms.aliases_of_room(t, job.room_id)
            for alias in aliases:
                await rooms.delete_alias(t, alias)
                if result.new_room_id is not None:
                    await rooms.insert_alias(t, alias, result.new_room_id, job.requested_by, now)
            await self._stores.directory.unpublish(t, job.room_id)
            result.local_aliases = sorted({*result.local_aliases, *aliases})
            await self._stores.jobs.update_job(
                t, job.delete_id, status=ACTIVE, result=_encode(result), error=None, now_ms=now
            )

    async def _purge(self, room_id: str, options: DeletionOptions, result: DeletionResult) -> None:
        if result.failed_to_kick_users and not options.force_purge:
            raise MatrixError(
                400, Errcode.UNKNOWN, f"users are still in {room_id}; use force_purge to purge"
            )
        jobs = self._stores.jobs
        while True:
            async with self._db.transaction() as t:
                if await jobs.purge_events(t, room_id, PURGE_BATCH) > 0:
                    continue
                held = await jobs.count_events(t, room_id)
                if held == 0:
                    await jobs.purge_room_rows(t, room_id)
                break
        if held:
            raise MatrixError(
                409, Errcode.UNKNOWN,
                f"{held} events of {room_id} are under legal hold: closed, not purged",
            )  # fmt: skip
        self._bus.publish(CacheInvalidated(MEMBERS_CACHE, room_id))

    async def _save(self, job: DeletionJobRow, status: str, result: DeletionResult) -> None:
        async with self._db.transaction() as t:
            await self._stores.jobs.update_job(
                t, job.delete_id, status=status, result=_encode(result), error=None,
                now_ms=self._clock.now_ms(),
            )  # fmt: skip

    async def _finish(
        self, job: DeletionJobRow, actor: Principal, status: str, result: DeletionResult,
        error: str | None,
    ) -> None:  # fmt: skip
        details: dict[str, object] = {
            "delete_id": job.delete_id, **msgspec.structs.asdict(result), "status": status,
        }  # fmt: skip
        if error is not None:
            details["error"] = error
        outcome = FAILURE if status == FAILED else "success"
        async with self._db.transaction() as t:
            await self._stores.jobs.update_job(
                t, job.delete_id, status=status, result=_encode(result), error=error,
                now_ms=self._clock.now_ms(),
            )  # fmt: skip
            await self._audit.record(t, actor, "room.close", job.room_id, details, outcome=outcome)


class BlockedRooms(EventHook):
    """Refuses joins, invites and knocks into a blocked room (one indexed read per such event)."""

    def __init__(self, db: Database, jobs: RoomDeletionStore) -> None:
        self._db, self._jobs = db, jobs

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> None:
        if room_id is None or draft.type != EventType.MEMBER:
            return
        if draft.content.get("membership") not in _IN_ROOM:
            return
        if await self._jobs.is_blocked(self._db, room_id):
            raise MatrixError(403, Errcode.FORBIDDEN, f"{room_id} is blocked by the server admins")


def _encode(result: DeletionResult) -> str:
    return msgspec.json.encode(result).decode()


def status_of_job(job: DeletionJobRow) -> DeletionStatus:
    """A stored job as the status endpoints (and the job list) show it."""
    result = msgspec.json.decode(job.result, type=DeletionResult)
    return DeletionStatus(job.delete_id, job.room_id, job.status, job.error, result)
