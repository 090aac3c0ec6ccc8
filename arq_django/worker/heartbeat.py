"""Worker heartbeats: each worker process keeps its own key fresh; readers find them with SCAN.

A worker writes ``arq_django:worker:<host>:<pid>:<start_ms>`` every ``HEARTBEAT_INTERVAL`` seconds with
its queue and figures (a JSON object, expiring after three intervals) and deletes it on a clean shutdown,
so a live key means a live worker. :class:`Heartbeat` is the worker extension that writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis

from arq_django import keys
from arq_django.conf import get_config
from arq_django.worker.events import JobEnd
from arq_django.worker.extensions.base import WorkerExtension, WorkerHost

logger = logging.getLogger("arq_django.worker")

PREFIX = keys.WORKER_PREFIX
TTL_INTERVALS = 3


@dataclass(frozen=True)
class WorkerBeat:
    """One live worker as its last heartbeat describes it."""

    key: str
    queue: str
    host: str
    pid: int
    started_at: float
    """Epoch seconds when the worker started."""
    beat_at: float
    """Epoch seconds of this heartbeat."""
    jobs_complete: int
    jobs_failed: int
    jobs_retried: int
    jobs_running: int
    max_jobs: int
    last_job_at: float | None
    """Epoch seconds when the worker last finished a job try, ``None`` before the first."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at,
            "beat_at": self.beat_at,
            "jobs_complete": self.jobs_complete,
            "jobs_failed": self.jobs_failed,
            "jobs_retried": self.jobs_retried,
            "jobs_running": self.jobs_running,
            "max_jobs": self.max_jobs,
            "last_job_at": self.last_job_at,
        }


class Heartbeat(WorkerExtension):
    """Writes one worker's heartbeat from a background task (and listens to its jobs for the last one),
    every ``interval`` seconds (default ``HEARTBEAT_INTERVAL``)."""

    def __init__(self, interval: float | None = None) -> None:
        self.worker: WorkerHost | None = None
        self.interval = get_config().heartbeat_interval if interval is None else interval
        self.started_at = time.time()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.key = f"{PREFIX}{self.host}:{self.pid}:{round(self.started_at * 1000)}"
        self.last_job_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def redis(self) -> AsyncRedis:
        assert self.worker is not None, "Heartbeat.on_start() was not called"
        return self.worker.pool

    def payload(self) -> bytes:
        w = self.worker
        assert w is not None, "Heartbeat.on_start() was not called"
        beat = WorkerBeat(
            key=self.key,
            queue=w.queue_name,
            host=self.host,
            pid=self.pid,
            started_at=self.started_at,
            beat_at=time.time(),
            jobs_complete=w.jobs_complete,
            jobs_failed=w.jobs_failed,
            jobs_retried=w.jobs_retried,
            jobs_running=sum(not t.done() for t in w.tasks.values()),
            max_jobs=w.max_jobs,
            last_job_at=self.last_job_at,
        )
        return json.dumps(beat.as_dict()).encode()

    async def on_start(self, worker: WorkerHost) -> None:
        self.worker = worker
        await self.start()

    async def on_stop(self, worker: WorkerHost) -> None:
        await self.stop()

    def job_ended(self, event: JobEnd) -> None:
        self.last_job_at = event.finished_at.timestamp()

    async def beat(self) -> None:
        """Write the heartbeat once."""
        await self.redis.set(self.key, self.payload(), px=round(self.interval * TTL_INTERVALS * 1000))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.beat()
            except (redis.RedisError, OSError) as e:
                logger.warning("heartbeat of worker %s failed: %s", self.key, e)

    async def start(self) -> None:
        """Write the first heartbeat now (the worker is visible once start-up ends), then keep it fresh."""
        try:
            await self.beat()
        except (redis.RedisError, OSError) as e:
            logger.warning("first heartbeat of worker %s failed: %s", self.key, e)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="arq_django-heartbeat")

    async def stop(self) -> None:
        """Stop the task and delete the key: a cleanly stopped worker disappears at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.redis.delete(self.key)
        except (redis.RedisError, OSError) as e:
            logger.warning("could not delete the heartbeat of worker %s: %s", self.key, e)
