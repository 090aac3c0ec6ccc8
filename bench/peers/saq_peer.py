"""saq: ``Queue.from_url``, a coroutine job; one worker process, concurrency 10 (asyncio)."""

from __future__ import annotations

import os
from typing import Any

from saq import Queue

from bench.peers.job import CONCURRENCY, QUEUE, arecord_at

URL = os.environ["BENCH_REDIS_URL"]
queue = Queue.from_url(URL, name=QUEUE)


async def bench_job(ctx: dict[str, Any], *, i: int) -> None:
    await arecord_at(URL, i)


settings = {"queue": queue, "functions": [bench_job], "concurrency": CONCURRENCY}


class Producer:
    async def start(self) -> None:
        await queue.connect()

    async def enqueue(self, i: int) -> None:
        await queue.enqueue("bench_job", i=i)

    async def close(self) -> None:
        await queue.disconnect()
