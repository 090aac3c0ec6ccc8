"""What a burst worker waits for besides due jobs: the work it scheduled itself.

A burst worker exits once no job is due and none runs here (:meth:`LoopWorker._burst_done`). Jobs
deferred by producers stay queued for the next worker, but the worker's own follow-ups do not: the
retry of a job it ran and a cron tick it enqueued (arq enqueues ticks up to a second ahead) run before
it exits. :class:`OwnWork` tracks them by job id until this worker claims them or they leave the
queue (another worker ran them, they were aborted). Once only that is left it enqueues no new cron
tick (an every-second cron would keep it running forever).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.utils import to_unix_ms


class OwnWork:
    """Jobs this worker scheduled and has not claimed since."""

    def __init__(self) -> None:
        self.pending: dict[str, int] = {}
        """job id -> when it is due, epoch ms."""
        self.until_ms = 0
        """Due time of the latest one whose id is unknown (a cron job with ``unique=False``)."""

    def add(self, job_id: str | None, due_ms: int) -> None:
        if job_id is None:
            self.until_ms = max(self.until_ms, due_ms)
        else:
            self.pending[job_id] = due_ms

    def cron_ticks(self, cron_jobs: Sequence[CronJob], before: Sequence[datetime | None]) -> bool:
        """Note the ticks arq's ``run_cron`` just enqueued (``before``: each job's ``next_run`` before
        it ran); whether any job's schedule moved."""
        moved = False
        for cron_job, was in zip(cron_jobs, before, strict=True):
            if cron_job.next_run == was:
                continue
            moved = True
            if was is not None:
                # arq's tick id (run_cron): the job's own, or <name>:<run-at ms> when unique.
                due_ms = to_unix_ms(was)
                self.add(
                    cron_job.job_id or (f"{cron_job.name}:{due_ms}" if cron_job.unique else None), due_ms
                )
        return moved

    def claimed(self, job_id: str) -> None:
        self.pending.pop(job_id, None)

    async def waiting(self, pool: ArqRedis, queue_name: str, claimed_at_ms: int) -> bool:
        """Whether some of it is still to run. ``claimed_at_ms`` is the last claim's clock: a job that
        fell due after that claim read the queue is not missed."""
        if claimed_at_ms < self.until_ms:
            return True
        if not self.pending:
            return False
        ids = list(self.pending)
        async with pool.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.zscore(queue_name, job_id)
            scores = await pipe.execute()
        for job_id, score in zip(ids, scores, strict=True):
            if score is None:
                del self.pending[job_id]
        return bool(self.pending)
