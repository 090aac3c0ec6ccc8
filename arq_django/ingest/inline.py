"""``InlineIngester``: run list messages' jobs in this process, for teams that want one process.

The same claim, lease and dead-letter machinery as :class:`~.ingester.ListIngester`, but instead of
enqueueing, each message's job runs here through the registry (sync handlers in a thread pool, like the
worker), at most ``max_concurrent`` at once. A message leaves the processing list only after its job ran,
so a crash re-runs it (at-least-once). The job's timeout and retries (``Retry``, ``retry_on``) apply; a
job that still fails or times out is dead-lettered with the error: there is no result store to keep it
in. ``options.queue``, ``expires`` and ``priority`` mean nothing here; a deferred message holds its
slot until its time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import redis
from asgiref.sync import sync_to_async
from django.db import close_old_connections

from arq_django.client.plan import JobPlan
from arq_django.client.wire import timestamp_ms
from arq_django.conf import get_config
from arq_django.ingest.decision import Decision
from arq_django.ingest.ingester import ListIngester
from arq_django.ingest.lease import sleep_unless
from arq_django.ingest.message import ListMessage
from arq_django.jobs.handlers import coroutine_for
from arq_django.jobs.registry import JobSpec
from arq_django.jobs.retry import max_tries, retry_exceptions
from arq_django.worker.threads import SyncThreads

logger = logging.getLogger("arq_django.ingest")


class InlineIngester(ListIngester):
    """Runs the jobs of one Redis list itself, ``max_concurrent`` at a time."""

    mode: ClassVar[str] = "inline"

    def __init__(self, source: str, *, max_concurrent: int = 5, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {max_concurrent!r}")
        self.max_concurrent = max_concurrent
        self._tasks: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._threads = SyncThreads(max_concurrent, prefix="arq-django-inline")
        self.peak = 0
        """The most jobs that ran at once."""

    async def _capacity(self) -> int:
        while len(self._tasks) >= self.max_concurrent and not self._stopping.is_set():
            self._slot_freed.clear()
            await sleep_unless(self._slot_freed, self.block)
        remaining = self._remaining()
        free = 0 if self._stopping.is_set() else self.max_concurrent - len(self._tasks)
        return free if remaining is None else min(free, remaining)

    async def _process(self, raws: list[bytes]) -> None:
        dead = []
        for raw in raws:
            prepared = self._prepare(raw)
            if isinstance(prepared, str):
                dead.append(Decision(raw, reason=prepared))
                continue
            self.taken += 1
            self._held[raw] += 1
            task = asyncio.create_task(self._run_job(raw, *prepared))
            self._tasks.add(task)
            self.peak = max(self.peak, len(self._tasks))
            task.add_done_callback(self._finished)
        if dead:
            await self.commit(dead)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()

    async def _run_job(self, raw: bytes, message: ListMessage, spec: JobSpec, job_plan: JobPlan) -> None:
        try:
            outcome = await self._execute(raw, message, spec, job_plan)
            try:
                await self.commit([outcome])
            except (redis.RedisError, OSError) as e:
                logger.error(
                    "list %s: could not acknowledge job %s (%s); it will run again",
                    self.keys.source,
                    job_plan.job_id,
                    e,
                )
                self._resume = True
        finally:
            self._held[raw] -= 1
            if self._held[raw] <= 0:
                del self._held[raw]

    async def _execute(self, raw: bytes, message: ListMessage, spec: JobSpec, job_plan: JobPlan) -> Decision:
        """Run the job as a worker would: at its run-at time, with its timeout, retried on ``Retry``
        (raised by the handler or its retry policy) up to its max tries."""
        delay = job_plan.score + job_plan.shift_ms - timestamp_ms()  # the priority shift means nothing here
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if self._threads.executor is None:
            self._threads.open(self.max_concurrent)
        ctx: dict[str, Any] = {
            "redis": self.client,
            "job_id": job_plan.job_id,
            "enqueue_time": datetime.now(UTC),
            "score": job_plan.score,
        }
        config = get_config()
        coroutine, timeout = coroutine_for(spec, config.job_timeout, self._threads)
        timeout = config.job_timeout if timeout is None else timeout
        tries = max_tries(ctx, spec.max_tries)
        where = f"job {spec.name!r} ({job_plan.job_id})"
        job_try = 1
        while True:
            ctx["job_try"] = job_try
            try:
                await _run_try(spec, coroutine, ctx, message, timeout)
            except retry_exceptions() as e:
                if job_try < tries:
                    job_try += 1
                    await asyncio.sleep((e.defer_score or 0) / 1000)
                    continue
                reason = f"{where} failed: still asking for a retry after {tries} tries"
            except TimeoutError:
                reason = f"{where} timed out after {timeout:g}s"
            except Exception as e:
                reason = f"{where} failed: {type(e).__name__}: {e}"
            else:
                self.ran += 1
                return Decision(raw, ran=True)
            self.failed += 1
            logger.exception("list %s: %s", self.keys.source, reason)
            return Decision(raw, reason=reason, ran=True)

    async def _drain(self, *, interrupted: bool) -> None:
        """Wait for running jobs; when stopped by a signal, only for ``JOB_COMPLETION_WAIT``, then cancel
        the rest: their messages stay claimed and go back onto the list when the lease is released."""
        if self._tasks:
            timeout = get_config().job_completion_wait if interrupted else None
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._threads.close()


async def _run_try(
    spec: JobSpec, coroutine: Callable[..., Any], ctx: dict[str, Any], message: ListMessage, timeout: float
) -> None:
    """One try; an async handler gets the stale-connection cleanup a worker gives it (sync handlers do
    it in their thread, ``runner``)."""
    if spec.is_async:
        await sync_to_async(close_old_connections)()
    try:
        await asyncio.wait_for(coroutine(ctx, *message.args, **message.kwargs), timeout or None)
    finally:
        if spec.is_async:
            await sync_to_async(close_old_connections)()
