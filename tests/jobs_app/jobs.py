"""Jobs the test suite runs on real workers; each leaves a side effect in Redis that tests count."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import redis

from arq_django import job
from arq_django.conf import get_config


@job
async def add(ctx: dict[str, Any], a: int, b: int) -> int:
    return a + b


@job("sync_add")
def sync_add(ctx: dict[str, Any], a: int, b: int) -> dict[str, Any]:
    import threading

    return {"sum": a + b, "thread": threading.current_thread().name, "job_id": ctx["job_id"]}


@job
async def echo(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@job
async def count(ctx: dict[str, Any], key: str, seconds: float = 0.0) -> str:
    """INCR ``key`` once per run (after sleeping ``seconds``): tests count runs, not results."""
    if seconds:
        await asyncio.sleep(seconds)
    await ctx["redis"].incr(key)
    await ctx["redis"].sadd(f"{key}:ids", ctx["job_id"])
    return str(ctx["job_id"])


@job("sync_count")
def sync_count(ctx: dict[str, Any], key: str, seconds: float = 0.0) -> str:
    if seconds:
        time.sleep(seconds)
    client = redis.Redis.from_url(get_config().redis_url)
    client.incr(key)
    client.sadd(f"{key}:ids", ctx["job_id"])
    client.close()
    return str(ctx["job_id"])


@job
async def boom(ctx: dict[str, Any], message: str) -> None:
    raise ValueError(message)


@job(max_tries=1)
async def no_retry(ctx: dict[str, Any]) -> None:
    raise RuntimeError("once")


@job(timeout=0.2)
async def sleepy(ctx: dict[str, Any], seconds: float) -> None:
    await asyncio.sleep(seconds)


@job(max_tries=2)
async def always_retry(ctx: dict[str, Any]) -> None:
    from arq import Retry

    raise Retry(defer=0.01)


# -- job options: queues, cron, retries, timeouts, abort, priority, unique -----------------------------
# Queues named here are listed in settings.test's ARQ_DJANGO["QUEUES"].


@job(queue="mail")
async def mail_job(ctx: dict[str, Any], n: int) -> str:
    """Pinned to "mail": records which queue's worker ran it."""
    await ctx["redis"].rpush(f"ran:{ctx['worker'].queue_name}", f"mail:{n}")
    return ctx["worker"].queue_name  # type: ignore[no-any-return]


@job(queue="reports")
async def report_job(ctx: dict[str, Any], n: int) -> str:
    await ctx["redis"].rpush(f"ran:{ctx['worker'].queue_name}", f"report:{n}")
    return ctx["worker"].queue_name  # type: ignore[no-any-return]


@job
async def record(ctx: dict[str, Any], key: str, tag: str) -> None:
    """RPUSH ``tag`` to ``key``: tests read the order jobs ran in."""
    await ctx["redis"].rpush(key, tag)


@job(queue="cron-test", cron={"second": set(range(60))}, keep_result=60)
async def every_second(ctx: dict[str, Any]) -> None:
    """A cron tick every second; counts runs per tick id."""
    await ctx["redis"].hincrby("cron:ticks", ctx["job_id"], 1)


@job(queue="startup-q", cron="0 0 1 1 *", run_at_startup=True, cron_kwargs={"key": "startup:ran"})
async def at_startup(ctx: dict[str, Any], key: str) -> None:
    await ctx["redis"].rpush(key, ctx["job_id"])


@job(retry_on=(ConnectionError,), retry_backoff=10, retry_backoff_max=25, retry_jitter=False, max_tries=4)
async def flaky(ctx: dict[str, Any], key: str) -> None:
    """Always fails with a listed exception: 10, 20, 25 s backoff, then fails for good."""
    await ctx["redis"].rpush(key, ctx["job_try"])
    raise ConnectionError(f"try {ctx['job_try']} failed")


@job(retry_on=ConnectionError, retry_backoff=30)
async def flaky_jitter(ctx: dict[str, Any]) -> None:
    raise ConnectionError("jittered")


@job(retry_on=(ConnectionError, TimeoutError), retry_backoff=0.05, retry_jitter=False, max_tries=3)
async def flaky_then_ok(ctx: dict[str, Any], key: str, failures: int) -> int:
    await ctx["redis"].rpush(key, ctx["job_try"])
    if ctx["job_try"] <= failures:
        raise ConnectionError("not yet")
    return int(ctx["job_try"])


@job(retry_on=ConnectionError, max_tries=5)
async def unlisted_error(ctx: dict[str, Any], key: str) -> None:
    await ctx["redis"].rpush(key, ctx["job_try"])
    raise ValueError("not a listed exception")


@job(timeout=0.3, retry_on=TimeoutError, retry_backoff=0.05, retry_jitter=False, max_tries=2)
async def slow_tries(ctx: dict[str, Any], key: str, slow: int) -> int:
    """Sleeps past its 0.3 s timeout on the first ``slow`` tries."""
    await ctx["redis"].rpush(key, ctx["job_try"])
    if ctx["job_try"] <= slow:
        await asyncio.sleep(5)
    return int(ctx["job_try"])


@job
async def wait_forever(ctx: dict[str, Any], key: str) -> None:
    await ctx["redis"].set(f"{key}:started", 1)
    await asyncio.sleep(60)
    await ctx["redis"].set(f"{key}:finished", 1)


@job(unique=True)
async def unique_job(ctx: dict[str, Any], key: str, n: int) -> int:
    await ctx["redis"].incr(key)
    return n


@job(unique=True, unique_for=timedelta(seconds=30))
async def unique_window(ctx: dict[str, Any], key: str) -> None:
    await ctx["redis"].incr(key)


@job
async def mark(ctx: dict[str, Any], key: str, marker: str, seconds: float = 0.0) -> str:
    """Count runs under ``key``, remember ``marker`` and how many ran at once (``key:levels``): list
    ingestion tests prove with it that every message ran exactly once, and how concurrently."""
    r = ctx["redis"]
    await r.rpush(f"{key}:levels", await r.incr(f"{key}:running"))
    if seconds:
        await asyncio.sleep(seconds)
    await r.decr(f"{key}:running")
    await r.incr(key)
    await r.sadd(f"{key}:markers", marker)
    return marker


@job
async def stamp(ctx: dict[str, Any], key: str) -> None:
    """Record when this run started (epoch seconds) next to when it was due (its score, ms)."""
    started = time.time()
    await ctx["redis"].hset(key, ctx["job_id"], f"{started:.6f} {ctx['score']}")


@job
async def concurrent(ctx: dict[str, Any], key: str, seconds: float) -> None:
    """Push how many of these run at once (counting itself), then hold its slot for ``seconds``."""
    running = await ctx["redis"].incr(f"{key}:running")
    await ctx["redis"].rpush(key, running)
    await asyncio.sleep(seconds)
    await ctx["redis"].decr(f"{key}:running")


@job
async def gated(ctx: dict[str, Any], gate: str, progress: float = 0.5) -> str:
    """Report progress, then wait until the Redis key ``gate`` exists: tests see the job running."""
    await ctx["progress"](progress, "waiting for the gate")
    while not await ctx["redis"].exists(gate):
        await asyncio.sleep(0.02)
    return "opened"


@job("sync_gated")
def sync_gated(ctx: dict[str, Any], gate: str) -> str:
    """The sync twin of ``gated`` (gives up after a minute: a thread cannot be cancelled)."""
    ctx["progress"](0.25, "sync, waiting")
    client = redis.Redis.from_url(get_config().redis_url)
    try:
        deadline = time.monotonic() + 60
        while not client.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        client.close()
    return "opened"


@job
async def retry_later(ctx: dict[str, Any]) -> int:
    """Try 1 asks to run again in an hour (tests move it forward); try 2 completes."""
    from arq import Retry

    if ctx["job_try"] == 1:
        raise Retry(defer=3600)
    return int(ctx["job_try"])


@job(
    retry_on=(redis.ConnectionError, redis.TimeoutError), retry_backoff=0.2, retry_jitter=False, max_tries=20
)
async def count_retrying(ctx: dict[str, Any], key: str, seconds: float = 0.0) -> str:
    """``count`` for jobs that must survive a Redis restart: a failed INCR/SADD retries the job."""
    return await count(ctx, key, seconds)


@job
async def unstorable(ctx: dict[str, Any]) -> Any:
    """Returns a model instance, which the JSON serializer cannot store as a result."""
    from django.contrib.auth.models import User

    return User(username="first-hour")


@job(max_tries=1)
async def fails_until(ctx: dict[str, Any], key: str) -> str:
    """Fails until ``key`` exists in Redis: a failure that a retry from the dashboard then fixes."""
    if not await ctx["redis"].exists(key):
        raise LookupError(f"{key} is not set yet")
    return key


_stores: dict[str, Any] = {}


@job
async def tally(ctx: dict[str, Any], key: str, store: str) -> None:
    """HINCRBY ``key`` <job id> 1 and ZADD ``key:at`` <now> on the Redis at ``store``, not on the
    worker's own Redis: the failover tests count runs in a store that survives the failover."""
    import redis.asyncio

    client = _stores.get(store)
    if client is None:
        client = _stores[store] = redis.asyncio.Redis.from_url(store)
    async with client.pipeline(transaction=False) as pipe:
        pipe.hincrby(key, ctx["job_id"], 1)
        pipe.zadd(f"{key}:at", {ctx["job_id"]: time.time()})
        await pipe.execute()
