"""Celery: a Redis broker, no result backend, an ``@app.task``; the worker's thread pool, 10 threads."""

from __future__ import annotations

import os

import redis
from celery import Celery

from bench.peers.job import QUEUE, record

URL = os.environ["BENCH_REDIS_URL"]
app = Celery("bench_peers", broker=URL)
app.conf.task_default_queue = QUEUE
app.conf.task_ignore_result = True
app.conf.broker_connection_retry_on_startup = True
_client = redis.Redis.from_url(URL)


@app.task(name="bench_job")
def bench_job(i: int) -> None:
    record(_client, i)


class Producer:
    def enqueue(self, i: int) -> None:
        bench_job.delay(i)

    def close(self) -> None:
        app.close()
