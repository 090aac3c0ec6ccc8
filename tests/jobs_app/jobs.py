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
