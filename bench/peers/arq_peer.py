"""Raw arq 0.28 at its defaults (``poll_delay`` 0.5 s), ``max_jobs`` 10: ``arq ...WorkerSettings``."""

from __future__ import annotations

import os
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from bench.peers.job import CONCURRENCY, QUEUE, arecord

URL = os.environ["BENCH_REDIS_URL"]


async def bench_job(ctx: dict[str, Any], i: int) -> None:
    await arecord(ctx["redis"], i)


class WorkerSettings:
    functions = [bench_job]
    redis_settings = RedisSettings.from_dsn(URL)
    queue_name = QUEUE
    max_jobs = CONCURRENCY


class Producer:
    pool: ArqRedis

    async def start(self) -> None:
        self.pool = await create_pool(RedisSettings.from_dsn(URL), default_queue_name=QUEUE)

    async def enqueue(self, i: int) -> None:
        await self.pool.enqueue_job("bench_job", i)

    async def close(self) -> None:
        await self.pool.aclose()
