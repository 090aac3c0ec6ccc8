"""One planned job into Redis: a single Lua script, one round trip, for the sync and the async client.

The script writes exactly what arq's ``enqueue_job`` writes (``PSETEX arq:job:<id>`` with the record
and its TTL, ``ZADD <queue> <score> <id>``) plus our wake token (``LPUSH`` + ``LTRIM`` on
:func:`arq_django.keys.wake_key`), so plain arq workers and ours read the same keys. A guarded write
(a caller-chosen ``_job_id``, a unique job) checks its guard keys inside the script and returns 0 when
one exists: arq's WATCH / EXISTS / MULTI dance without its extra round trips or its race.

The sync client sends it on a connection of the calling thread's own, without a pool checkout
(:mod:`arq_django.connection.owned`). The script is sent as ``EVALSHA`` with its SHA-1 computed here;
after a Redis restart or ``SCRIPT FLUSH`` the first call gets ``NOSCRIPT`` and repeats as ``EVAL``,
which loads it again. Each job goes to
its queue's server (``QUEUES`` entries may have a Redis of their own). With ``ENQUEUE_WAIT_REPLICAS``
the script and ``WAIT`` go out as one pipeline on one connection, so ``WAIT`` counts the replicas that
have this job.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis

from arq_django import keys
from arq_django.client.plan import JobPlan
from arq_django.conf import get_config
from arq_django.connection import async_pool, direct, owned, redis_failure, server_for, sync_client
from arq_django.connection.replicas import WaitPolicy, check_confirmed, wait_policy
from arq_django.exceptions import EnqueueError

SCRIPT = """
-- KEYS: job key, queue, wake list, then ARGV[5] guard keys (any existing: the id is taken, return 0),
-- then keys to delete first (a unique job's old result). ARGV: record, TTL ms, job id, score, guard count,
-- the wake token (the time by which the job is due, as the producer's clock tells it).
local guards = tonumber(ARGV[5])
for i = 4, 3 + guards do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 4 + guards, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('PSETEX', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[6])
redis.call('LTRIM', KEYS[3], 0, WAKE_CAP - 1)
return 1
""".replace("WAKE_CAP", str(keys.WAKE_CAP))
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()


def script_args(plan: JobPlan) -> tuple[Any, ...]:
    """``numkeys, *keys, *argv`` of the script for ``plan``."""
    if plan.guarded:
        guards, stale = plan.guard_keys, plan.stale_keys
        return (
            3 + len(guards) + len(stale),
            plan.job_key,
            plan.queue_name,
            keys.wake_key(plan.queue_name),
            *guards,
            *stale,
            plan.payload,
            plan.expires_ms,
            plan.job_id,
            plan.score,
            len(guards),
            wake_token(plan),
        )
    return (
        3,
        plan.job_key,
        plan.queue_name,
        keys.WAKE_PREFIX + plan.queue_name,
        plan.payload,
        plan.expires_ms,
        plan.job_id,
        plan.score,
        0,
        wake_token(plan),
    )


def wake_token(plan: JobPlan) -> int:
    """What the job's wake token says: the time by which it is due, by this process's clock (its score,
    or now for a deferred job). A worker woken by it claims what is due by then, even if its own clock
    was read before it began to wait (:meth:`arq_django.worker.claim.Claimer.claim_on_wake`)."""
    return min(plan.score, round(time.time() * 1000))


def _enqueue_error(plan: JobPlan, e: Exception) -> EnqueueError:
    return EnqueueError(
        f"could not enqueue job {plan.function!r} on queue {plan.queue_name!r}: "
        f"{redis_failure(e, server=server_for(plan.queue_name))}. "
        "Nothing was written; check ARQ_DJANGO['REDIS_URL'] and that Redis is running."
    )


def _stale(started: float) -> bool:
    """A pooled connection left from before a Redis restart fails at once; a server that is really
    unreachable takes the connect timeout. Only the first earns one more, fresh try."""
    return time.monotonic() - started < get_config().connect_timeout / 2


def write(plan: JobPlan) -> bool:
    """Write a planned job with the sync client; ``False`` when its guarded id is already taken.

    Raises :class:`~arq_django.exceptions.EnqueueNotConfirmed` (after the write) when too few replicas
    confirmed it, under ``ENQUEUE_WAIT_REPLICAS``."""
    client = sync_client(queue=plan.queue_name)
    args = script_args(plan)
    policy = wait_policy()
    started = time.monotonic()
    try:
        try:
            written, acked = _run(client, args, policy)
        except redis.ConnectionError:
            if not _stale(started):
                raise
            written, acked = _run(client, args, policy)
    except redis.RedisError as e:
        raise _enqueue_error(plan, e) from e
    if policy is not None and written:
        check_confirmed(plan, policy, acked)
    return written


def _run(client: redis.Redis, args: tuple[Any, ...], policy: WaitPolicy | None) -> tuple[bool, object]:
    if policy is None:  # one command: on this thread's own connection (connection.owned)
        try:
            return bool(owned.execute(client, "EVALSHA", SHA, *args)), None
        except redis.exceptions.NoScriptError:
            return bool(owned.execute(client, "EVAL", SCRIPT, *args)), None
    for command, body in (("EVALSHA", SHA), ("EVAL", SCRIPT)):
        pipe = client.pipeline(transaction=False)
        pipe.execute_command(command, body, *args)  # type: ignore[no-untyped-call]
        pipe.execute_command("WAIT", *policy.args)  # type: ignore[no-untyped-call]
        written, acked = pipe.execute(raise_on_error=False)
        if not isinstance(written, redis.exceptions.NoScriptError):
            return _confirmed_reply(written, acked)
    raise AssertionError("EVAL cannot answer NOSCRIPT")


def _confirmed_reply(written: object, acked: object) -> tuple[bool, object]:
    if isinstance(written, BaseException):
        raise written
    return bool(written), acked


async def awrite(plan: JobPlan) -> bool:
    """Async twin of :func:`write`, on the running loop's pool: one ``EVALSHA``, one reply to parse,
    sent by :mod:`arq_django.connection.direct`."""
    client = async_pool(queue=plan.queue_name)
    args = script_args(plan)
    policy = wait_policy()
    started = time.monotonic()
    try:
        try:
            written, acked = await _arun(client, args, policy)
        except redis.ConnectionError:
            if not _stale(started):
                raise
            written, acked = await _arun(client, args, policy)
    except redis.RedisError as e:
        raise _enqueue_error(plan, e) from e
    if policy is not None and written:
        check_confirmed(plan, policy, acked)
    return written


async def _arun(client: AsyncRedis, args: tuple[Any, ...], policy: WaitPolicy | None) -> tuple[bool, object]:
    if policy is None:  # one command, without redis-py's per-command checkout (connection.direct)
        return bool(await direct.run_script(client, SHA, SCRIPT, *args)), None
    for command, body in (("EVALSHA", SHA), ("EVAL", SCRIPT)):
        pipe = client.pipeline(transaction=False)
        pipe.execute_command(command, body, *args)
        pipe.execute_command("WAIT", *policy.args)
        written, acked = await pipe.execute(raise_on_error=False)
        if not isinstance(written, redis.exceptions.NoScriptError):
            return _confirmed_reply(written, acked)
    raise AssertionError("EVAL cannot answer NOSCRIPT")
