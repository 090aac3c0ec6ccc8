"""Jobs the test suite runs on real workers; each leaves a side effect in Redis that tests count."""

from __future__ import annotations

import asyncio
import time
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
