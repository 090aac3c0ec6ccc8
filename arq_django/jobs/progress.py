"""Job progress: ``await ctx["progress"](0.5, "halfway")`` in a handler, ``handle.progress()`` outside.

Each report is written to Redis at once (``arq_django:progress:<job_id>``, one ``SET`` with a TTL) and
handed to the result mirror, which stores it with its next flush. In a sync handler ``ctx["progress"]``
is the blocking twin, called without ``await``. The worker's :class:`ProgressReports` extension puts a
fresh reporter in every job's ``ctx``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis as AsyncRedis

from arq_django import keys
from arq_django.conf import get_config
from arq_django.connection import sync_client
from arq_django.worker.events import JobStart
from arq_django.worker.extensions.base import WorkerExtension, WorkerHost

KEY_PREFIX = keys.PROGRESS_PREFIX
CTX_KEY = "progress"
"""The ``ctx`` key handlers call."""
MIN_TTL_S = 60


@dataclass(frozen=True)
class Progress:
    """The last progress a job reported."""

    fraction: float
    """0.0 to 1.0."""
    message: str
    updated_at: datetime


@dataclass(frozen=True)
class ProgressUpdate:
    """A progress report, as handed to the result mirror."""

    job_id: str
    queue_name: str
    job_try: int
    fraction: float
    message: str


progress_key = keys.progress_key


def _check(job_id: str, fraction: Any, message: Any) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"job {job_id}: progress must be a number from 0.0 to 1.0, got {fraction!r}.")
    if math.isnan(fraction):
        raise ValueError(f"job {job_id}: progress must be a number from 0.0 to 1.0, got nan.")
    if not isinstance(message, str):
        raise TypeError(f"job {job_id}: the progress message must be a str, got {type(message).__name__}.")
    return float(fraction)


def _encode(fraction: float, message: str) -> bytes:
    return json.dumps({"p": fraction, "m": message, "t": round(time.time() * 1000)}).encode()


def _decode(raw: bytes | None) -> Progress | None:
    if not raw:
        return None
    data = json.loads(raw)
    return Progress(
        fraction=float(data["p"]),
        message=str(data["m"]),
        updated_at=datetime.fromtimestamp(data["t"] / 1000, tz=UTC),
    )


class ProgressReporter:
    """``ctx["progress"]`` for one try of one job (:class:`ProgressReports` creates it)."""

    __slots__ = ("_loop", "_redis", "_sink", "_ttl_ms", "job_id", "job_try", "queue_name")

    def __init__(
        self,
        job_id: str,
        job_try: int,
        queue_name: str,
        redis: AsyncRedis,
        sink: Callable[[ProgressUpdate], None] | None,
        ttl_s: float,
    ) -> None:
        self.job_id = job_id
        self.job_try = job_try
        self.queue_name = queue_name
        self._redis = redis
        self._sink = sink
        self._ttl_ms = round(max(ttl_s, MIN_TTL_S) * 1000)
        self._loop = asyncio.get_running_loop()

    def _update(self, fraction: float, message: str) -> ProgressUpdate:
        return ProgressUpdate(self.job_id, self.queue_name, self.job_try, fraction, message)

    async def __call__(self, fraction: float, message: str = "") -> None:
        """Report progress from an async handler."""
        value = _check(self.job_id, fraction, message)
        await self._redis.set(progress_key(self.job_id), _encode(value, message), px=self._ttl_ms)
        if self._sink is not None:
            self._sink(self._update(value, message))

    def sync(self, fraction: float, message: str = "") -> None:
        """Report progress from a sync handler's thread (blocking; never call it on the event loop)."""
        value = _check(self.job_id, fraction, message)
        sync_client(queue=self.queue_name).set(
            progress_key(self.job_id), _encode(value, message), px=self._ttl_ms
        )
        if self._sink is not None:
            self._loop.call_soon_threadsafe(self._sink, self._update(value, message))


class ProgressReports(WorkerExtension):
    """The worker extension giving each job its ``ctx["progress"]``; reports also go to every
    subscribed sink (the result mirror subscribes when it starts)."""

    def __init__(self) -> None:
        self.sinks: list[Callable[[ProgressUpdate], None]] = []
        self._redis: AsyncRedis | None = None
        self._ttl_s: float = MIN_TTL_S

    def subscribe(self, sink: Callable[[ProgressUpdate], None]) -> None:
        self.sinks.append(sink)

    def _send(self, update: ProgressUpdate) -> None:
        for sink in self.sinks:
            sink(update)

    async def on_start(self, worker: WorkerHost) -> None:
        self._redis = worker.pool
        self._ttl_s = ttl_for_jobs()

    async def on_stop(self, worker: WorkerHost) -> None:
        self.sinks = []

    def job_context(self, ctx: dict[str, Any], job: JobStart) -> None:
        assert self._redis is not None, "ProgressReports.on_start() was not called"
        sink = self._send if self.sinks else None
        ctx[CTX_KEY] = ProgressReporter(
            job.job_id, job.job_try, job.queue_name, self._redis, sink, self._ttl_s
        )


def read(job_id: str, queue: str | None = None) -> Progress | None:
    """The job's last reported progress, or ``None`` (kept on the server of the job's ``queue``)."""
    return _decode(cast(bytes | None, sync_client(queue=queue).get(progress_key(job_id))))


async def aread(job_id: str, redis: AsyncRedis) -> Progress | None:
    return _decode(await redis.get(progress_key(job_id)))


def ttl_for_jobs() -> float:
    """How long a progress report outlives the job: its longest run plus the time results are kept."""
    config = get_config()
    return config.job_timeout + config.keep_result
