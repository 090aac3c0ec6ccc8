"""What operators do to jobs: enqueue one by name, retry finished ones (by id from Redis's records, or
a mirror row from the admin), abort or forget rows, purge a queue."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast

from arq_django import keys
from arq_django.client.abort import abort
from arq_django.client.enqueue import record, write
from arq_django.client.handle import JobHandle
from arq_django.client.plan import plan_job
from arq_django.connection import sync_client
from arq_django.exceptions import ArqDjangoError, RetryRefused
from arq_django.keys import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq_django.mirror.enqueued import enqueued_row, insert
from arq_django.models import JobResult
from arq_django.ops import history
from arq_django.ops.queues import check_queue_key
from arq_django.serializers import TAG, from_json_data

logger = logging.getLogger("arq_django.ops.actions")

RETRIED_PREFIX = keys.RETRIED_PREFIX
"""``arq_django:retried:<old id>`` → the id of the job that retried it (kept as long as a result)."""
RETRIED_TTL = 7 * 86400


def submit(
    name: str,
    args: list[Any] | tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    queue: str | None = None,
    job_id: str | None = None,
    defer: timedelta | None = None,
) -> JobHandle | None:
    """Enqueue ``name`` with exactly these arguments (keyword names are never read as options, unlike
    ``enqueue(**kwargs)``); ``None`` when ``job_id`` already exists."""
    plan_args, plan_kwargs = tuple(args), dict(kwargs or {})
    plan = plan_job(name, plan_args, plan_kwargs, job_id=job_id, queue_name=queue, defer_by=defer)
    if not write(plan):
        return None
    record(plan, plan_args, plan_kwargs)
    return JobHandle(plan.job_id, plan.queue_name, plan.function)


@dataclass(frozen=True)
class RetryOutcome:
    """What became of one retry request."""

    job_id: str
    new_job_id: str | None = None
    error: str | None = None


def _retry_record(record: history.ResultRecord) -> RetryOutcome:
    try:
        handle = submit(record.function, record.args, record.kwargs, queue=record.queue)
    except (ArqDjangoError, ValueError, TypeError) as e:
        return RetryOutcome(record.job_id, error=str(e))
    assert handle is not None  # a generated id cannot collide
    sync_client().set(RETRIED_PREFIX + record.job_id, handle.job_id, ex=RETRIED_TTL)
    return RetryOutcome(record.job_id, new_job_id=handle.job_id)


def retry(job_ids: list[str]) -> list[RetryOutcome]:
    """Enqueue each finished job again as a new job: same function, arguments and queue."""
    outcomes = []
    for job_id in job_ids:
        record = history.get_result(job_id)
        if record is None:
            outcomes.append(
                RetryOutcome(job_id, error="no result record: unknown, still running, or its result expired")
            )
        else:
            outcomes.append(_retry_record(record))
    return outcomes


def retry_failed(
    *, function: str | None = None, queue: str | None = None, since: datetime | None = None
) -> list[RetryOutcome]:
    """Retry every failed job still on record (optionally one function's, one queue's, or those that
    finished after ``since``) that has not been retried already, so running it twice is harmless."""
    records = history.find_results(status="failed", function=function, queue=queue, since=since, limit=None)
    if not records:
        return []
    client = sync_client()
    done = cast(list[bytes | None], client.mget([RETRIED_PREFIX + r.job_id for r in records]))
    return [_retry_record(r) for r, d in zip(records, done, strict=True) if d is None]


RETRYABLE: Final = (JobResult.Status.COMPLETE, JobResult.Status.FAILED, JobResult.Status.ABORTED)
ABORTABLE: Final = (
    JobResult.Status.QUEUED,
    JobResult.Status.DEFERRED,
    JobResult.Status.IN_PROGRESS,
    JobResult.Status.RETRYING,
)


def _unrecoverable(data: Any) -> bool:
    if isinstance(data, dict):
        return data.get(TAG) == "repr" or any(_unrecoverable(v) for v in data.values())
    if isinstance(data, list):
        return any(_unrecoverable(v) for v in data)
    return False


def retry_row(row: JobResult) -> JobHandle:
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
    except Exception as e:  # the job is queued: a row not written is only logged
        logger.warning(
            "retry of job %s enqueued %s, but its row was not written: %s", row.job_id, plan.job_id, e
        )
    return JobHandle(plan.job_id, plan.queue_name, plan.function)


def abort_rows(rows: Iterable[JobResult]) -> int:
    """Ask workers to abort the rows' jobs; returns how many were still queued or running."""
    return sum(abort(row.job_id, row.queue_name) for row in rows if row.status in ABORTABLE)


# Drops one batch of waiting jobs atomically. A job a worker holds (its in-progress key exists) stays.
# For the others the in-progress key is touched first, so a worker between its WATCH and EXEC on that
# key backs off instead of starting a job whose record is gone.
_PURGE = """
local n = 0
for k = 1, #ARGV do
  local base = 3 * (k - 1) + 1
  local job, progress, retry = KEYS[base + 1], KEYS[base + 2], KEYS[base + 3]
  if redis.call('EXISTS', progress) == 0 then
    redis.call('SET', progress, '1', 'PX', 1)
    redis.call('DEL', progress, job, retry)
    n = n + redis.call('ZREM', KEYS[1], ARGV[k])
  end
end
return n
"""


def purge(queue: str, batch: int = 500) -> int:
    """Drop every queued and deferred job of ``queue`` (records and queue entries); running jobs stay.

    Returns how many were dropped. Only ``queue``'s own keys and its jobs' keys are touched.
    """
    client = sync_client(queue=queue)
    check_queue_key(client, queue)
    script = client.register_script(_PURGE)
    dropped, start = 0, 0
    while True:
        ids = [m.decode() for m in cast(list[bytes], client.zrange(queue, start, start + batch - 1))]
        if not ids:
            return dropped
        batch_keys = [queue]
        for job_id in ids:
            batch_keys += [
                job_key_prefix + job_id,
                in_progress_key_prefix + job_id,
                retry_key_prefix + job_id,
            ]
        removed = int(cast(int, script(keys=batch_keys, args=ids)))
        dropped += removed
        start += len(ids) - removed  # running jobs stay in the set: step over them
