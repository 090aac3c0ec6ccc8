"""What the admin (or your code) can do to mirrored jobs: retry, abort, delete."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

import redis
from arq.constants import result_key_prefix

from arq_django.client.abort import abort
from arq_django.client.enqueue import write
from arq_django.client.handle import JobHandle
from arq_django.client.plan import plan_job
from arq_django.connection import sync_client
from arq_django.exceptions import ArqDjangoError
from arq_django.jobs.progress import progress_key
from arq_django.mirror.enqueued import enqueued_row, insert
from arq_django.models import JobResult
from arq_django.serializers import TAG, from_json_data

logger = logging.getLogger("arq_django.mirror")

RETRYABLE: Final = (JobResult.Status.COMPLETE, JobResult.Status.FAILED, JobResult.Status.ABORTED)
ABORTABLE: Final = (
    JobResult.Status.QUEUED,
    JobResult.Status.DEFERRED,
    JobResult.Status.IN_PROGRESS,
    JobResult.Status.RETRYING,
)
FORGET_CHUNK: Final = 500


class RetryRefused(ArqDjangoError):
    """A row cannot be retried (unfinished, or its arguments were not stored as JSON)."""


def _unrecoverable(data: Any) -> bool:
    if isinstance(data, dict):
        return data.get(TAG) == "repr" or any(_unrecoverable(v) for v in data.values())
    if isinstance(data, list):
        return any(_unrecoverable(v) for v in data)
    return False


def retry(row: JobResult) -> JobHandle:
    """Enqueue ``row``'s function again, with its arguments and queue, as a new job whose row links
    back through ``retry_of``. Raises :class:`RetryRefused`, ``JobNotRegistered`` or ``EnqueueError``."""
    if row.status not in RETRYABLE:
        raise RetryRefused(
            f"job {row.job_id} ({row.function}) is {row.status}; only complete, failed or aborted jobs "
            "can be retried."
        )
    if row.args is None or row.kwargs is None or _unrecoverable([row.args, row.kwargs]):
        raise RetryRefused(
            f"job {row.job_id} ({row.function}): its arguments were not recorded as JSON, so it cannot "
            "be re-enqueued from its row; enqueue it again from code."
        )
    args = tuple(from_json_data(row.args))
    kwargs = dict(from_json_data(row.kwargs))
    plan = plan_job(row.function, args, kwargs, queue_name=row.queue_name)
    write(plan)  # a fresh id cannot collide
    try:
        insert(enqueued_row(plan, args, kwargs, retry_of=row))
        # The worker may have written the row first (it never sets retry_of).
        JobResult.objects.filter(job_id=plan.job_id, retry_of__isnull=True).update(retry_of=row)
    except Exception as e:
        logger.warning(
            "retry of job %s enqueued %s, but its row was not written: %s", row.job_id, plan.job_id, e
        )
    return JobHandle(plan.job_id, plan.queue_name, plan.function)


def abort_rows(rows: Iterable[JobResult]) -> int:
    """Ask workers to abort the rows' jobs; returns how many were still queued or running."""
    return sum(abort(row.job_id, row.queue_name) for row in rows if row.status in ABORTABLE)


def forget_results(job_ids: Iterable[str]) -> None:
    """Delete the jobs' results and progress from Redis, so reconcile does not bring deleted rows
    back. Best effort: a Redis failure is logged (the results expire after ``KEEP_RESULT`` anyway)."""
    ids = list(job_ids)
    try:
        client = sync_client()
        for start in range(0, len(ids), FORGET_CHUNK):
            chunk = ids[start : start + FORGET_CHUNK]
            client.delete(*[result_key_prefix + i for i in chunk], *[progress_key(i) for i in chunk])
    except redis.RedisError as e:
        logger.warning("deleted %d rows, but not their results in Redis: %s", len(ids), e)
