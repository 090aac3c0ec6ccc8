"""``enqueue()`` and ``aenqueue()``: write the same keys with the same commands as arq's ``enqueue_job``.

The sync path uses one pooled redis-py client and never starts an event loop. A generated id cannot
collide, so that path is a single round trip (MULTI, PSETEX job, ZADD queue, EXEC); a caller-chosen
``_job_id`` adds arq's WATCH / EXISTS guard so a second enqueue with the same id returns ``None``.
With the result mirror on, the job's ``JobResult`` row is created once Redis has the job
(:mod:`arq_django.mirror.producer`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.client import Pipeline

from .conf import get_config
from .connection import async_pool, redact_url, sync_client
from .exceptions import EnqueueError
from .handle import JobHandle
from .plan import Duration, JobPlan, plan_job


def _queue_commands(pipe: Pipeline | AsyncPipeline, plan: JobPlan) -> None:
    pipe.psetex(plan.job_key, plan.expires_ms, plan.payload)
    pipe.zadd(plan.queue_name, {plan.job_id: plan.score})


def _enqueue_error(plan: JobPlan, e: Exception) -> EnqueueError:
    return EnqueueError(
        f"could not enqueue job {plan.function!r} on queue {plan.queue_name!r}: Redis at "
        f"{redact_url(get_config().redis_url)} failed with {type(e).__name__}: {e}. Nothing was written; "
        "check ARQ_DJANGO['REDIS_URL'] and that Redis is running."
    )


def write(plan: JobPlan) -> bool:
    """Write a planned job with the sync client; ``False`` when the id already exists."""
    client = sync_client()
    try:
        if not plan.guarded:
            with client.pipeline(transaction=True) as pipe:
                _queue_commands(pipe, plan)
                pipe.execute()
            return True
        with client.pipeline(transaction=True) as pipe:
            pipe.watch(plan.job_key)  # type: ignore[no-untyped-call]
            if pipe.exists(plan.job_key, plan.result_key):
                return False
            pipe.multi()
            _queue_commands(pipe, plan)
            try:
                pipe.execute()
            except redis.WatchError:
                return False
            return True
    except redis.RedisError as e:
        raise _enqueue_error(plan, e) from e


async def awrite(plan: JobPlan) -> bool:
    """Async twin of :func:`write`, on the running loop's ``ArqRedis`` pool."""
    pool = async_pool()
    try:
        if not plan.guarded:
            async with pool.pipeline(transaction=True) as pipe:
                _queue_commands(pipe, plan)
                await pipe.execute()
            return True
        async with pool.pipeline(transaction=True) as pipe:
            await pipe.watch(plan.job_key)
            if await pipe.exists(plan.job_key, plan.result_key):
                return False
            pipe.multi()  # type: ignore[no-untyped-call]
            _queue_commands(pipe, plan)
            try:
                await pipe.execute()
            except redis.WatchError:
                return False
            return True
    except redis.RedisError as e:
        raise _enqueue_error(plan, e) from e


def _mirror_on_enqueue() -> bool:
    config = get_config()
    return config.mirror and config.mirror_on_enqueue


def enqueue(
    name: str,
    *args: Any,
    _job_id: str | None = None,
    _queue_name: str | None = None,
    _defer_until: datetime | None = None,
    _defer_by: Duration | None = None,
    _expires: Duration | None = None,
    **kwargs: Any,
) -> JobHandle | None:
    """Enqueue job ``name`` from sync code; returns its handle, or ``None`` if ``_job_id`` already exists."""
    plan = plan_job(
        name,
        args,
        kwargs,
        job_id=_job_id,
        queue_name=_queue_name,
        defer_until=_defer_until,
        defer_by=_defer_by,
        expires=_expires,
    )
    if not write(plan):
        return None
    if _mirror_on_enqueue():
        from .mirror.producer import record_enqueued  # models load only once apps are ready

        record_enqueued(plan, args, kwargs)
    return JobHandle(plan.job_id, plan.queue_name, plan.function)


async def aenqueue(
    name: str,
    *args: Any,
    _job_id: str | None = None,
    _queue_name: str | None = None,
    _defer_until: datetime | None = None,
    _defer_by: Duration | None = None,
    _expires: Duration | None = None,
    **kwargs: Any,
) -> JobHandle | None:
    """Async twin of :func:`enqueue`."""
    plan = plan_job(
        name,
        args,
        kwargs,
        job_id=_job_id,
        queue_name=_queue_name,
        defer_until=_defer_until,
        defer_by=_defer_by,
        expires=_expires,
    )
    if not await awrite(plan):
        return None
    if _mirror_on_enqueue():
        from .mirror.producer import arecord_enqueued

        await arecord_enqueued(plan, args, kwargs)
    return JobHandle(plan.job_id, plan.queue_name, plan.function)
