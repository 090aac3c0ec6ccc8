"""streaQ: a ``Worker`` (Redis streams, coredis) with concurrency 10 (anyio on asyncio), a task."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

from streaq import Worker

from bench.peers.job import CONCURRENCY, QUEUE, arecord_at

URL = os.environ["BENCH_REDIS_URL"]
worker = Worker(redis_url=URL, concurrency=CONCURRENCY, queue_name=QUEUE)


@worker.task
async def bench_job(i: int) -> None:
    await arecord_at(URL, i)


class Producer:
    async def start(self) -> None:
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(worker)

    async def enqueue(self, i: int) -> None:
        await bench_job.enqueue(i)

    async def close(self) -> None:
        await self._stack.aclose()
