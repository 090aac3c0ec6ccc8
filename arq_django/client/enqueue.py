"""``enqueue()`` and ``aenqueue()``: write the same keys with the same commands as arq's ``enqueue_job``.

The sync path uses one pooled redis-py client and never starts an event loop. Both paths are one round
trip, one Lua script (:mod:`arq_django.client.write`: PSETEX job, ZADD queue, LPUSH + LTRIM wake
signal); a caller-chosen ``_job_id`` (or a unique job's derived id) is checked inside the script, so a
second enqueue with the same id returns ``None``. The wake signal lets an idle worker start the job at
once. ``_on_commit=True`` / :func:`enqueue_on_commit` defer the write to
``transaction.on_commit``. With the result mirror on, the job's ``JobResult`` row is created once
Redis has the job: batched by a background thread outside a transaction, inside the caller's
transaction otherwise (:mod:`arq_django.mirror.enqueued`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.client import Pipeline

from arq_django import keys
from arq_django.client.handle import JobHandle
from arq_django.client.plan import Duration, JobPlan, plan_job
from arq_django.client.write import awrite as awrite
from arq_django.client.write import write as write
from arq_django.conf import get_config

logger = logging.getLogger("arq_django.client.enqueue")


def queue_wake(pipe: Pipeline | AsyncPipeline, queue_name: str) -> None:
    """Add the wake signal for ``queue_name`` to a pipeline (inside the job's MULTI), so an idle worker
    (:mod:`arq_django.worker.wake`) starts the job at once."""
    key = keys.wake_key(queue_name)
    pipe.lpush(key, round(time.time() * 1000))  # a token says when (by this clock) its jobs were due
    pipe.ltrim(key, 0, keys.WAKE_CAP - 1)


def _queue_commands(pipe: Pipeline | AsyncPipeline, plan: JobPlan) -> None:
    pipe.psetex(plan.job_key, plan.expires_ms, plan.payload)
    pipe.zadd(plan.queue_name, {plan.job_id: plan.score})
    queue_wake(pipe, plan.queue_name)


def _mirror_on_enqueue() -> bool:
    config = get_config()
    return config.mirror and config.mirror_on_enqueue


def enqueue(
    name: str | Callable[..., Any],
    *args: Any,
    _job_id: str | None = None,
    _queue_name: str | None = None,
    _defer_until: datetime | None = None,
    _defer_by: Duration | None = None,
    _expires: Duration | None = None,
    _priority: int | None = None,
    _on_commit: bool = False,
    _using: str | None = None,
    **kwargs: Any,
) -> JobHandle | None:
    """Enqueue job ``name`` (its registered name, dotted path or ``@job`` handler) from sync code; returns
    its handle, or ``None`` if ``_job_id`` already exists (or, for a ``unique`` job, the same call is
    pending). The arguments must fit the handler's parameters after ``ctx`` (:class:`InvalidArguments`).

    ``_priority`` (-100..100) overrides the job's priority. ``_on_commit=True`` writes the job only once
    the current transaction on database ``_using`` commits (see :func:`enqueue_on_commit`).
    """
    plan = plan_job(
        name,
        args,
        kwargs,
        job_id=_job_id,
        queue_name=_queue_name,
        defer_until=_defer_until,
        defer_by=_defer_by,
        expires=_expires,
        priority=_priority,
    )
    if _on_commit:
        return _write_on_commit(plan, _using, args, kwargs)
    if not write(plan):
        return None
    record(plan, args, kwargs)
    return JobHandle(plan.job_id, plan.queue_name, plan.function)


def record(plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Create the job's mirror row once Redis has the job (when the mirror is on at enqueue); every
    sync enqueue path (``enqueue()``, ``ops.actions.submit`` behind the commands and the API) calls it."""
    if _mirror_on_enqueue():
        from arq_django.mirror.enqueued import record_enqueued  # models load only once apps are ready

        record_enqueued(plan, args, kwargs)


def flush_rows(timeout: float | None = None) -> bool:
    """Write the mirror rows this process's enqueues buffered (outside a transaction) now, and wait
    for them, at most ``timeout`` seconds; ``False`` if that was not enough. Without it they are written
    within about 50 ms, at the end of a request and at exit. Tests and scripts call it before reading
    ``JobResult`` rows they just enqueued."""
    from arq_django.mirror import buffer  # models load only once apps are ready

    return buffer.flush(timeout)


def enqueue_on_commit(
    name: str | Callable[..., Any],
    *args: Any,
    _job_id: str | None = None,
    _queue_name: str | None = None,
    _defer_until: datetime | None = None,
    _defer_by: Duration | None = None,
    _expires: Duration | None = None,
    _priority: int | None = None,
    _using: str | None = None,
    **kwargs: Any,
) -> JobHandle:
    """Enqueue job ``name`` once the current transaction commits; at once outside a transaction.

    Arguments are validated and the id chosen now, so the returned handle's ``job_id`` is known
    before the commit. On rollback nothing is written. At commit, a relative run-at time (none, or
    ``_defer_by``) counts from the commit. If the id is taken by then (``_job_id`` or ``unique``), the
    write is skipped and the handle refers to the job that holds the id.
    """
    handle = enqueue(
        name,
        *args,
        _job_id=_job_id,
        _queue_name=_queue_name,
        _defer_until=_defer_until,
        _defer_by=_defer_by,
        _expires=_expires,
        _priority=_priority,
        _on_commit=True,
        _using=_using,
        **kwargs,
    )
    assert handle is not None  # the on-commit path always returns the handle it will write
    return handle


def _write_on_commit(
    plan: JobPlan, using: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> JobHandle:
    def write_at_commit() -> None:
        at_commit = plan.rebased(round(time.time() * 1000))
        if not write(at_commit):
            logger.info("job %s (%s) not enqueued at commit: its id is taken", plan.job_id, plan.function)
            return
        record(at_commit, args, kwargs)

    # Outside an atomic block Django runs the callback at once; an EnqueueError then reaches the caller,
    # and after a commit it propagates from the atomic block's exit (the data is committed, the job is not).
    transaction.on_commit(write_at_commit, using=using)
    return JobHandle(plan.job_id, plan.queue_name, plan.function)


async def aenqueue(
    name: str | Callable[..., Any],
    *args: Any,
    _job_id: str | None = None,
    _queue_name: str | None = None,
    _defer_until: datetime | None = None,
    _defer_by: Duration | None = None,
    _expires: Duration | None = None,
    _priority: int | None = None,
    _on_commit: bool = False,
    **kwargs: Any,
) -> JobHandle | None:
    """Async twin of :func:`enqueue` (without ``_on_commit``: Django transactions are sync)."""
    if _on_commit:
        raise TypeError(
            f"aenqueue({name!r}, _on_commit=True): Django transactions are sync; call "
            "enqueue_on_commit() inside the atomic block (wrap it with sync_to_async in async code)."
        )
    plan = plan_job(
        name,
        args,
        kwargs,
        job_id=_job_id,
        queue_name=_queue_name,
        defer_until=_defer_until,
        defer_by=_defer_by,
        expires=_expires,
        priority=_priority,
    )
    if not await awrite(plan):
        return None
    if _mirror_on_enqueue():
        from arq_django.mirror.enqueued import arecord_enqueued

        await arecord_enqueued(plan, args, kwargs)
    return JobHandle(plan.job_id, plan.queue_name, plan.function)
