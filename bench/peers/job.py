"""The benchmark's job, the same in every system: one Redis ``INCR`` and the time of its first start.

A job ``i`` reads the clock first, then sends ``INCR bench:peers:count`` and ``HSETNX bench:peers:starts
i <time>`` in one round trip (a pipeline without MULTI). The runner reads both: the counter proves every
job ran (once), the hash gives each job's first start. Imported in every venv: redis-py only.
"""

from __future__ import annotations

import time
from typing import Any

COUNT_KEY = "bench:peers:count"
STARTS_KEY = "bench:peers:starts"
QUEUE = "bench-peers"
"""The queue name where the system lets one choose it."""
CONCURRENCY = 10


def record(client: Any, i: int) -> None:
    """The job's body with a sync redis-py client."""
    started = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.incr(COUNT_KEY)
    pipe.hsetnx(STARTS_KEY, str(i), repr(started))
    pipe.execute()


async def arecord(client: Any, i: int) -> None:
    """The job's body with a ``redis.asyncio`` client."""
    started = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.incr(COUNT_KEY)
    pipe.hsetnx(STARTS_KEY, str(i), repr(started))
    await pipe.execute()


_clients: dict[str, Any] = {}


async def arecord_at(url: str, i: int) -> None:
    """The job's body for systems that hand a job no Redis client: one ``redis.asyncio`` client per
    worker process, made on first use."""
    client = _clients.get(url)
    if client is None:
        import redis.asyncio

        client = _clients[url] = redis.asyncio.Redis.from_url(url)
    await arecord(client, i)
