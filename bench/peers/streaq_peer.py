"""streaQ: a ``Worker`` (Redis streams, coredis) with concurrency 10 (anyio on asyncio), a task."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Any

import redis.asyncio
from streaq import Worker

from bench.peers.job import CONCURRENCY, QUEUE, arecord

URL = os.environ["BENCH_REDIS_URL"]
worker = Worker(redis_url=URL, concurrency=CONCURRENCY, queue_name=QUEUE)
_clients: list[Any] = []


@worker.task
async def bench_job(i: int) -> None:
    if not _clients:
        _clients.append(redis.asyncio.Redis.from_url(URL))
    await arecord(_clients[0], i)


class Producer:
    async def start(self) -> None:
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(worker)

    async def enqueue(self, i: int) -> None:
        await bench_job.enqueue(i)

    async def close(self) -> None:
        await self._stack.aclose()
