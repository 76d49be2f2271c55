"""The server's background jobs as one list, in Synapse's shape (`GET /_synapse/admin/v1/
scheduled_tasks`), so an admin tool sees what is queued, running, done or failed.

Bastion has no task table of its own: each kind of job keeps its own durable rows (a room
deletion, a history purge, a user's redaction), and this reads them side by side under
Synapse's action names. A kind's list is its `LATEST_PER_KIND` latest-changed jobs plus every
one still unfinished (so a job stuck for long is never hidden behind newer finished ones);
Synapse instead forgets finished tasks after a week. The filters are Synapse's: action, the
job's room or user (`resource_id`), status, and last change at or before a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.services.admin.room_deletion import status_of_job
from bastion.services.moderation.redactions import task_status
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols.history_purges import HistoryPurgeRow, HistoryPurgeStore
from bastion.store.protocols.moderation import RedactionJob, RedactionJobStore
from bastion.store.protocols.room_admin import DeletionJobRow, RoomDeletionStore

# Synapse's action names for the same jobs.
ROOM_DELETION = "shutdown_and_purge_room"
HISTORY_PURGE = "purge_history"
USER_REDACTION = "redact_all_events"
ACTIONS = (ROOM_DELETION, HISTORY_PURGE, USER_REDACTION)
STATUSES = ("scheduled", "active", "complete", "cancelled", "failed")
LATEST_PER_KIND = 1000


@dataclass(frozen=True, slots=True)
class ScheduledTask:
    """One job in Synapse's task shape; `timestamp_ms` is its last change."""

    task_id: str
    action: str
    status: str
    timestamp_ms: int
    resource_id: str | None
    result: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Synapse's filters; None matches everything."""

    action: str | None = None
    resource_id: str | None = None
    status: str | None = None
    max_timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class JobStores:
    """The tables of the jobs listed."""

    deletions: RoomDeletionStore
    purges: HistoryPurgeStore
    redactions: RedactionJobStore


class ScheduledTasks:
    """Lists the background jobs for a server admin."""

    def __init__(self, db: Database, stores: JobStores) -> None:
        self._db, self._stores = db, stores

    async def tasks(self, actor: Principal, query: TaskQuery) -> list[ScheduledTask]:
        """The jobs matching `query`, the least recently changed first (Synapse's order).

        Raises:
            MatrixError: 403 for a non-admin; 400 M_INVALID_PARAM for an unknown status.
        """
        actor.require_admin()
        if query.status is not None and query.status not in STATUSES:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, f"status must be one of {', '.join(STATUSES)}"
            )
        wanted = ACTIONS if query.action is None else (query.action,)
        window = (query.resource_id, query.max_timestamp, LATEST_PER_KIND)
        db, stores = self._db, self._stores
        found: list[ScheduledTask] = []
        if ROOM_DELETION in wanted:
            found += _merge(
                [_deletion(job) for job in await stores.deletions.latest_jobs(db, *window)],
                [_deletion(job) for job in await stores.deletions.unfinished_jobs(db)], query,
            )  # fmt: skip
        if HISTORY_PURGE in wanted:
            found += _merge(
                [_purge(purge) for purge in await stores.purges.latest_purges(db, *window)],
                [_purge(purge) for purge in await stores.purges.unfinished_purges(db)], query,
            )  # fmt: skip
        if USER_REDACTION in wanted:
            found += _merge(
                [_redaction(job) for job in await stores.redactions.latest(db, *window)],
                [_redaction(job) for job in await stores.redactions.pending(db)], query,
            )  # fmt: skip
        if query.status is not None:
            found = [task for task in found if task.status == query.status]
        return sorted(found, key=lambda task: (task.timestamp_ms, task.task_id))


def _merge(
    latest: list[ScheduledTask], unfinished: list[ScheduledTask], query: TaskQuery
) -> list[ScheduledTask]:
    """A kind's latest jobs, and its unfinished ones the query also matches, each once."""
    seen = {task.task_id for task in latest}
    return latest + [
        task
        for task in unfinished
        if task.task_id not in seen
        and query.resource_id in (None, task.resource_id)
        and (query.max_timestamp is None or task.timestamp_ms <= query.max_timestamp)
    ]


def _deletion(job: DeletionJobRow) -> ScheduledTask:
    result = msgspec.to_builtins(status_of_job(job).result)  # Synapse's `shutdown_room`
    return ScheduledTask(
        job.delete_id, ROOM_DELETION, job.status, job.updated_ts, job.room_id, result, job.error
    )


def _purge(purge: HistoryPurgeRow) -> ScheduledTask:
    return ScheduledTask(
        purge.purge_id, HISTORY_PURGE, purge.status, purge.updated_ts, purge.room_id,
        {"deleted": purge.deleted}, purge.error,
    )  # fmt: skip


def _redaction(job: RedactionJob) -> ScheduledTask:
    status = task_status(job)
    result = {"failed_redactions": job.failed} if status == "complete" else None
    return ScheduledTask(
        job.job_id, USER_REDACTION, status, job.updated_ts, job.user_id, result, job.error
    )
