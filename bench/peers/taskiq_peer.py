"""taskiq with taskiq-redis: ``RedisStreamBroker`` (acknowledged, its recommended broker), an async task;
one worker process, 10 async tasks at once."""

from __future__ import annotations

import os

from taskiq_redis import RedisStreamBroker

from bench.peers.job import QUEUE, arecord_at

URL = os.environ["BENCH_REDIS_URL"]
broker = RedisStreamBroker(URL, queue_name=QUEUE)


@broker.task(task_name="bench_job")
async def bench_job(i: int) -> None:
    await arecord_at(URL, i)


class Producer:
    async def start(self) -> None:
        await broker.startup()

    async def enqueue(self, i: int) -> None:
        await bench_job.kiq(i)

    async def close(self) -> None:
        await broker.shutdown()
