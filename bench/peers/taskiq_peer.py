"""taskiq with taskiq-redis: ``RedisStreamBroker`` (acknowledged, its recommended broker), an async task;
one worker process, 10 async tasks at once."""

from __future__ import annotations

import os
from typing import Any

import redis.asyncio
from taskiq_redis import RedisStreamBroker

from bench.peers.job import QUEUE, arecord

URL = os.environ["BENCH_REDIS_URL"]
broker = RedisStreamBroker(URL, queue_name=QUEUE)
_clients: list[Any] = []


@broker.task(task_name="bench_job")
async def bench_job(i: int) -> None:
    if not _clients:
        _clients.append(redis.asyncio.Redis.from_url(URL))
    await arecord(_clients[0], i)


class Producer:
    async def start(self) -> None:
        await broker.startup()

    async def enqueue(self, i: int) -> None:
        await bench_job.kiq(i)

    async def close(self) -> None:
        await broker.shutdown()
