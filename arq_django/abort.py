"""Abort a job the way arq's ``Job.abort`` does, without waiting for the outcome.

The id goes into arq's ``arq:abort`` sorted set; a worker with ``allow_abort_jobs`` (on in
``worker_settings.build()``) cancels the job if it is running, or fails it as aborted when it is picked.
A deferred job is moved to the front of its queue (score 1) so that happens now, not when it was due.
"""

from __future__ import annotations

from typing import cast

from arq.constants import abort_jobs_ss, in_progress_key_prefix
from arq.utils import timestamp_ms

from .conf import get_config
from .connection import async_pool, sync_client


def abort(job_id: str, queue_name: str | None = None) -> bool:
    """Ask workers to abort ``job_id``; ``False`` when it is neither queued nor running."""
    queue = queue_name or get_config().queue
    client = sync_client()
    with client.pipeline(transaction=True) as pipe:
        pipe.zscore(queue, job_id)
        pipe.exists(in_progress_key_prefix + job_id)
        score, running = cast(tuple[float | None, int], pipe.execute())
    if score is None and not running:
        return False
    now = timestamp_ms()
    with client.pipeline(transaction=True) as pipe:
        if score is not None and score > now and not running:
            pipe.zadd(queue, {job_id: 1}, xx=True)
        pipe.zadd(abort_jobs_ss, {job_id: now})
        pipe.execute()
    return True


async def aabort(job_id: str, queue_name: str | None = None) -> bool:
    """Async twin of :func:`abort`."""
    queue = queue_name or get_config().queue
    pool = async_pool()
    async with pool.pipeline(transaction=True) as pipe:
        pipe.zscore(queue, job_id)
        pipe.exists(in_progress_key_prefix + job_id)
        score, running = await pipe.execute()
    if score is None and not running:
        return False
    now = timestamp_ms()
    async with pool.pipeline(transaction=True) as pipe:
        if score is not None and score > now and not running:
            pipe.zadd(queue, {job_id: 1}, xx=True)
        pipe.zadd(abort_jobs_ss, {job_id: now})
        await pipe.execute()
    return True
