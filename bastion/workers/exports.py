"""The export worker: runs compliance export jobs (services/export/jobs.py).

At start it runs whatever a previous process left `running` (again from the start: an export
writes nothing anywhere else until its archive is complete); then it waits until a job is
scheduled (the service's wake-up) or `interval_s` passes on the injected clock, and runs the
pending jobs (job_queue.py). A failing job is marked failed by the service and does not stop the
others.
"""

from __future__ import annotations

from bastion.workers.job_queue import PendingJobsWorker


class ExportWorker(PendingJobsWorker):
    """Runs pending exports at start, when woken, and every `interval_s`."""

    name = "compliance exports"
