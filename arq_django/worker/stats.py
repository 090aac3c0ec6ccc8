"""Per-job outcome counters and durations, kept in Redis so every worker process adds to the same figures.

One hash per queue, ``arq_django:stats:<queue>``, holds running totals (``outcome:<outcome>:<function>``),
a duration histogram (``dur:<le>:<function>`` per bucket, ``dsum:<function>``) and, in one small hash per
minute (``arq_django:stats:<queue>:m:<minute>``, kept two hours), the outcomes of recent jobs.
:func:`record_job_outcomes` is the only writer; :class:`JobStats`, a worker extension, feeds it from the
worker's job events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis

from arq_django import keys
from arq_django.connection import direct
from arq_django.worker.events import JobEnd, JobStart
from arq_django.worker.extensions.base import WorkerExtension, WorkerHost

logger = logging.getLogger("arq_django.worker.stats")

PREFIX = keys.STATS_PREFIX
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Upper bounds (seconds) of the job duration histogram; a last ``+Inf`` bucket takes the rest."""
MINUTE_TTL = 2 * 3600
MAX_PENDING = 10_000
"""Job ends kept in memory while Redis cannot be written; older ones are dropped past this."""
GATHER_S = 0.05
"""How long the writer gathers job ends after the first before it writes them: one pipeline per busy
50 ms rather than one per job (the figures lag the jobs by about that much)."""


stats_key = keys.stats_key
minute_key = keys.minute_key


def _bucket(duration_s: float) -> str:
    for le in BUCKETS:
        if duration_s <= le:
            return repr(le)
    return "+Inf"


async def record_job_outcomes(
    redis_client: AsyncRedis, queue: str, outcomes: list[tuple[str, str, float | None]]
) -> None:
    """Count job tries ``(function, outcome, duration_s)`` that ended on ``queue``, in one round trip.

    ``outcome`` is an :class:`~arq_django.worker.events.Outcome` value; ``duration_s`` is ``None`` for jobs
    that never ran (expired, aborted before start).
    """
    totals: Counter[str] = Counter()
    sums: dict[str, float] = {}
    per_outcome: Counter[str] = Counter()
    for function, outcome, duration_s in outcomes:
        totals[f"outcome:{outcome}:{function}"] += 1
        per_outcome[outcome] += 1
        if duration_s is not None and math.isfinite(duration_s):
            duration_s = max(duration_s, 0.0)
            totals[f"dur:{_bucket(duration_s)}:{function}"] += 1
            sums[function] = sums.get(function, 0.0) + duration_s
    key, minute = stats_key(queue), minute_key(queue, int(time.time() // 60))
    commands: list[tuple[Any, ...]] = [("HINCRBY", key, name, n) for name, n in totals.items()]
    commands += [("HINCRBYFLOAT", key, f"dsum:{function}", total) for function, total in sums.items()]
    commands += [("HINCRBY", minute, outcome, n) for outcome, n in per_outcome.items()]
    commands.append(("EXPIRE", minute, MINUTE_TTL))
    await direct.execute_many(redis_client, commands)  # one write, no per-command reply parsing


async def record_job_outcome(
    redis_client: AsyncRedis, queue: str, function: str, outcome: str, duration_s: float | None
) -> None:
    """Count one job try; see :func:`record_job_outcomes`."""
    await record_job_outcomes(redis_client, queue, [(function, outcome, duration_s)])


class JobStats(WorkerExtension):
    """A worker extension counting every job's end into Redis (the worker's pool and queue, unless
    given).

    Listeners must not block the worker's loop, so ends are buffered and written by a background task:
    one pipeline for whatever ended within :data:`GATHER_S` of the first. Redis errors are logged and
    the figures kept for the next try; accounting never fails a job.
    """

    def __init__(self, redis_client: AsyncRedis | None = None, queue: str = "") -> None:
        self.redis: AsyncRedis | None = redis_client
        self.queue = queue
        self._pending: list[tuple[str, str, float | None]] = []
        self._running: set[str] = set()
        self._due = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def on_start(self, worker: WorkerHost) -> None:
        if self.redis is None:
            self.redis, self.queue = worker.pool, worker.queue_name
        self.start()

    async def on_stop(self, worker: WorkerHost) -> None:
        await self.stop()

    def job_started(self, event: JobStart) -> None:
        self._running.add(event.job_id)

    def job_ended(self, event: JobEnd) -> None:
        # Jobs failed before they could start (expired, aborted while waiting...) have no run time.
        ran = event.job_id in self._running
        self._running.discard(event.job_id)
        self._pending.append((event.function, event.outcome.value, event.duration_s if ran else None))
        self._due.set()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch or self.redis is None:
            self._pending = batch + self._pending
            return
        try:
            await record_job_outcomes(self.redis, self.queue, batch)
        except (redis.RedisError, OSError) as e:
            logger.warning("could not record %d job outcomes on %r: %s", len(batch), self.queue, e)
            self._pending = batch[-MAX_PENDING:] + self._pending
        except Exception:  # a bug here must not stop the counting, nor the worker's shutdown
            logger.exception("recording %d job outcomes on %r failed", len(batch), self.queue)

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self._due.wait()
            with contextlib.suppress(TimeoutError):  # gather more ends, unless the worker is stopping
                async with asyncio.timeout(GATHER_S):
                    await self._stop.wait()
            self._due.clear()
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="arq-django-stats")

    async def stop(self) -> None:
        """Write what is left; a write in flight is finished, not cancelled, so no count is lost."""
        self._stop.set()
        self._due.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
