"""huey: ``RedisHuey``, a ``@huey.task()``; the consumer with 10 worker threads."""

from __future__ import annotations

import os

import redis
from huey import RedisHuey

from bench.peers.job import QUEUE, record

URL = os.environ["BENCH_REDIS_URL"]
huey = RedisHuey(QUEUE, url=URL)
_client = redis.Redis.from_url(URL)


@huey.task()
def bench_job(i: int) -> None:
    record(_client, i)


class Producer:
    def enqueue(self, i: int) -> None:
        bench_job(i)

    def close(self) -> None:
        huey.storage.conn.close()
