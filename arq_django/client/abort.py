"""Abort a job: a queued or deferred one never runs, a running one is cancelled; both end ``aborted``.

arq's protocol, done atomically: the job id goes into arq's ``arq:abort`` sorted set, which every
worker with ``allow_abort_jobs`` (arq_django's default) reads. A worker that starts a job in that set
fails it as aborted before calling it; a worker running it cancels its task at its next poll. A job
that is waiting (queued behind others, deferred, or waiting for a retry) is also moved to the front
of its queue, so a worker picks it up and ends it at once instead of when it would have run. One Lua
script does both, so no worker can start the job between the two steps.

A cancelled sync handler's thread cannot be interrupted: the job ends ``aborted`` at once and the
thread finishes in the background (as with timeouts).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from arq_django.client.wire import decode_result, timestamp_ms
from arq_django.connection import async_pool, clients_for, servers, sync_client
from arq_django.jobs.routing import known_queues
from arq_django.keys import abort_jobs_ss, in_progress_key_prefix, result_key_prefix
from arq_django.serializers import get_serializer

POLL_INTERVAL = 0.05

# KEYS: queue, abort set, in-progress key, result key. ARGV: job id, now (ms).
# Returns 1 when an abort was requested, 0 when the job is not pending in that queue.
ABORT_SCRIPT = """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 then
    redis.call('ZADD', KEYS[1], 'XX', 1, ARGV[1])
end
return 1
"""


def _keys(job_id: str, queue_name: str) -> list[str]:
    return [queue_name, abort_jobs_ss, in_progress_key_prefix + job_id, result_key_prefix + job_id]


def _aborted(raw: bytes) -> bool:
    info = decode_result(raw, get_serializer().loads)
    return not info.success and isinstance(info.result, asyncio.CancelledError)


def abort(job_id: str, queue_name: str | None = None, *, wait: float | None = None) -> bool:
    """Abort job ``job_id`` in ``queue_name`` (default: whichever known queue holds it).

    With ``wait=None`` it returns at once: ``True`` when the job was pending (queued, deferred or
    running) and the abort is requested, ``False`` when there is nothing to abort (unknown id, or
    already finished). With ``wait=seconds`` it also waits for the outcome: ``True`` only if the job
    ended aborted within that time (it may still finish first, or a worker may be slow to pick it up).
    """
    queue = queue_name or _find_queue_sync(job_id)
    if queue is None:
        return False
    client = sync_client(queue=queue)
    requested = client.eval(ABORT_SCRIPT, 4, *_keys(job_id, queue), job_id, str(timestamp_ms()))
    if not requested:
        return False
    if wait is None:
        return True
    deadline = time.monotonic() + wait
    while True:
        raw = cast(bytes | None, client.get(result_key_prefix + job_id))
        if raw:
            return _aborted(raw)
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)


async def aabort(job_id: str, queue_name: str | None = None, *, wait: float | None = None) -> bool:
    """Async twin of :func:`abort`."""
    queue = queue_name or await _find_queue_async(job_id)
    if queue is None:
        return False
    pool = async_pool(queue=queue)
    requested = await cast(
        Any, pool.eval(ABORT_SCRIPT, 4, *_keys(job_id, queue), job_id, str(timestamp_ms()))
    )
    if not requested:
        return False
    if wait is None:
        return True
    deadline = time.monotonic() + wait
    while True:
        raw = await pool.get(result_key_prefix + job_id)
        if raw:
            return _aborted(raw)
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL)


def _find_queue_sync(job_id: str) -> str | None:
    for client, queues in clients_for(known_queues()):
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.zscore(queue, job_id)
            scores = pipe.execute()
        found = next((q for q, score in zip(queues, scores, strict=True) if score is not None), None)
        if found is not None:
            return found
    return None


async def _find_queue_async(job_id: str) -> str | None:
    for _server, queues in servers(known_queues()):
        if not queues:
            continue
        async with async_pool(queue=queues[0]).pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.zscore(queue, job_id)
            scores = await pipe.execute()
        found = next((q for q, score in zip(queues, scores, strict=True) if score is not None), None)
        if found is not None:
            return found
    return None
