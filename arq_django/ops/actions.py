"""What operators do to jobs: enqueue one by name, retry finished ones, purge a queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix

from arq_django.client.enqueue import record, write
from arq_django.client.handle import JobHandle
from arq_django.client.plan import plan_job
from arq_django.connection import sync_client
from arq_django.exceptions import ArqDjangoError
from arq_django.ops import history
from arq_django.ops.queues import check_queue_key

RETRIED_PREFIX = "arq_django:retried:"
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
    client = sync_client()
    check_queue_key(client, queue)
    script = client.register_script(_PURGE)
    dropped, start = 0, 0
    while True:
        ids = [m.decode() for m in cast(list[bytes], client.zrange(queue, start, start + batch - 1))]
        if not ids:
            return dropped
        keys = [queue]
        for job_id in ids:
            keys += [job_key_prefix + job_id, in_progress_key_prefix + job_id, retry_key_prefix + job_id]
        removed = int(cast(int, script(keys=keys, args=ids)))
        dropped += removed
        start += len(ids) - removed  # running jobs stay in the set: step over them
