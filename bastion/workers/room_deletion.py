"""The room deletion worker: runs the room deletion jobs (services/admin/room_deletion.py).

At start it runs whatever a previous process left unfinished (each job resumes from its row);
then it waits until a job is scheduled (the service's wake-up) or `interval_s` passes on the
injected clock, whichever comes first, and runs the unfinished jobs again (job_queue.py). A
failing iteration is logged and retried by the supervisor; a failing job is marked failed and
does not stop the others.
"""

from __future__ import annotations

from bastion.workers.job_queue import PendingJobsWorker


class RoomDeletionWorker(PendingJobsWorker):
    """Runs unfinished room deletions at start, when woken, and every `interval_s`."""

    name = "room deletion"
