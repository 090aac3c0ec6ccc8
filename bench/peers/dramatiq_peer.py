"""dramatiq: ``RedisBroker``, an ``@dramatiq.actor``; one worker process with 10 threads."""

from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from bench.peers.job import QUEUE, record

URL = os.environ["BENCH_REDIS_URL"]
broker = RedisBroker(url=URL)
dramatiq.set_broker(broker)
_client = redis.Redis.from_url(URL)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def bench_job(i: int) -> None:
    record(_client, i)


class Producer:
    def enqueue(self, i: int) -> None:
        bench_job.send(i)

    def close(self) -> None:
        broker.close()
