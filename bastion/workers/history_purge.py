"""The history purge worker: runs the admins' history purges (services/retention/
history_purge.py).

At start it runs whatever a previous process left unfinished (each purge resumes from its row:
the batches already committed are gone, their count kept); then it waits until a purge is asked
for (the service's wake-up) or `interval_s` passes on the injected clock (one asked for on
another process), and runs the unfinished ones again (job_queue.py). One pass at a time
server-wide (the lease per pass).
"""

from __future__ import annotations

from bastion.workers.job_queue import PendingJobsWorker


class HistoryPurgeWorker(PendingJobsWorker):
    """Runs unfinished history purges at start, when woken, and every `interval_s`."""

    name = "history purge"
