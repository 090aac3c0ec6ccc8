"""The worker's main loop: claim ready jobs in batches, then wait for a wake-up, a free slot or a timer.

arq's loop sleeps ``poll_delay`` between polls and reads at most ``queue_read_limit`` ids per poll, so
one worker runs at most ``queue_read_limit / poll_delay`` jobs a second and a new job waits up to
``poll_delay``. This loop instead:

- claims up to its free slots in one round trip (:mod:`arq_django.worker.claim`), and claims again as soon as
  a slot frees while the last claim came back full;
- waits on the queue's wake list (:mod:`arq_django.worker.wake`), which ``enqueue()`` signals, with its
  claim queued behind the blocking read (:meth:`LoopWorker.take_woken`): a new job starts at once;
- keeps its own timers: the earliest deferred job's score (so deferred jobs, retries and cron start on
  time) and every ``poll_delay`` a one-command look at the queue's head, for jobs written by plain arq
  producers, which send no signal. That tick also runs arq's housekeeping: abort checks, the health
  record and cron.

An idle worker thus issues about one command per ``poll_delay`` (at least :data:`MIN_TICK_S`) plus one
blocking read (and an empty claim) every few seconds. ``queue_read_limit`` caps one claim, as it caps
one arq poll: a claim it cut short claims again on the next tick or wake-up, not at once.

``burst`` ends once no job is due and none runs here (:meth:`LoopWorker._burst_done`, and
:mod:`arq_django.worker.burst`); ``burst_wait_deferred=True`` keeps arq's rule (wait until the queue is
empty). ``max_burst_jobs`` behaves as in arq.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import datetime
from typing import Any

import arq.worker
from arq.connections import log_redis_info
from arq.utils import timestamp_ms
from redis.exceptions import RedisError

from arq_django.connection import REDIS_DOWN
from arq_django.worker.burst import OwnWork
from arq_django.worker.claim import Claim, ClaimedJob, Claimer
from arq_django.worker.redis_pool import open_worker_pool
from arq_django.worker.redis_wait import Outage
from arq_django.worker.wake import WakeListener

logger = logging.getLogger("arq.worker")

REFILL_WAIT_S = 0.002
"""Longest a freed slot waits for others before the worker claims for it while jobs are waiting."""
MIN_TICK_S = 0.01
"""Shortest housekeeping tick: at ``poll_delay=0`` (arq's test fixtures) a busy worker would never wait."""


class LoopWorker(arq.worker.Worker):
    """arq's ``Worker`` with arq_django's main loop; subclasses run claimed jobs in :meth:`run_claimed`."""

    def __init__(self, *args: Any, burst_wait_deferred: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.burst_wait_deferred = burst_wait_deferred
        """In burst mode, wait for deferred jobs too, as arq does (``ARQ_DJANGO['BURST_WAIT_DEFERRED']``)."""
        self._nudge = asyncio.Event()
        """Ends the current wait; set whenever something changed."""
        self._poll_requested = False
        """Claim on the next iteration: a wake token, a freed slot with a backlog, a requeued job."""
        self._backlog = False
        """The last claim filled every free slot, so more jobs may be ready."""
        self._next_due_ms: int | None = None
        self._next_tick = 0.0
        self._queued: int | None = None
        """The queue's size as of this iteration's claim (``None``: no claim this iteration)."""
        self._due = 0
        """Jobs due (score <= now) in the queue as of the last claim, running ones included."""
        self._own = OwnWork()
        """Retries and cron ticks this worker scheduled: a burst worker waits for them."""
        self._claimed_at_ms = 0
        self._winding_down = False
        """A burst worker with nothing due or running: it schedules no more cron ticks."""
        self._task_error: BaseException | None = None
        self._claimer: Claimer | None = None
        self._listener: WakeListener | None = None
        self._refill_at = max(1, self.max_jobs // 2)
        self._refill_timer: asyncio.TimerHandle | None = None
        self._claiming = 0
        """``want`` of this loop's claim in flight: a claim on wake-up answered meanwhile leaves it room."""

    async def run_claimed(self, job: ClaimedJob) -> None:
        """Run one job this worker has claimed."""
        raise NotImplementedError

    async def main(self) -> None:
        if self._pool is None:
            self._pool = await open_worker_pool(
                self.redis_settings,
                job_deserializer=self.job_deserializer,
                job_serializer=self.job_serializer,
                default_queue_name=self.queue_name,
                expires_extra_ms=self.expires_extra_ms,
            )
        logger.info("Starting worker for %d functions: %s", len(self.functions), ", ".join(self.functions))
        await log_redis_info(self.pool, logger.info)
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        outage = Outage()
        try:
            while True:
                try:
                    await self._poll_iteration()
                    if self.burst and await self._burst_done():
                        await asyncio.gather(*self.tasks.values())
                        await self.record_health()  # the final counts, as arq's last poll records them
                        return
                    await self._wait()
                except REDIS_DOWN as e:  # a Redis restart or failover
                    await outage.wait(e)
                    continue
                outage.over()
        finally:
            if self._listener is not None:
                await self._listener.close()

    def _claimer_for_pool(self) -> Claimer:
        if self._claimer is None:  # not in main(): arq's own tests call _poll_iteration() directly
            self._claimer = Claimer(
                self.pool,
                self.queue_name,
                in_progress_ms=int(self.in_progress_timeout_s * 1000),
                allow_abort=self.allow_abort_jobs,
            )
        return self._claimer

    async def _poll_iteration(self) -> None:
        """Claim and start what is ready; every ``poll_delay``, run arq's housekeeping too."""
        if self._task_error is not None:
            # A bug in run_job stops the worker, as in arq (which re-raises it from its poll loop).
            error, self._task_error = self._task_error, None
            raise error
        now = self.loop.time()
        tick = now >= self._next_tick
        if tick:
            self._next_tick = now + max(self.poll_delay_s, MIN_TICK_S)
        self._queued = None
        if self.allow_pick_jobs:
            await self._claim_ready(tick)
        if tick:
            if self.allow_abort_jobs and self.job_tasks:
                await self._cancel_aborted_jobs()
            await self.heart_beat()

    async def _claim_ready(self, tick: bool) -> None:
        free = self.max_jobs - self.job_counter
        want = min(free, self.queue_read_limit)
        if self.burst and self.max_burst_jobs >= 0:
            want = min(want, self.max_burst_jobs - self._jobs_started())
        if want <= 0:
            return
        requested, self._poll_requested = self._poll_requested, False
        if self._refill_timer is not None:
            self._refill_timer.cancel()
            self._refill_timer = None
        now_ms = timestamp_ms()
        due = self._next_due_ms is not None and self._next_due_ms <= now_ms
        if not (requested or due or self._backlog or tick or self.burst):
            return
        if tick and not (requested or due or self._backlog or self.burst):
            # A timer poll for jobs nobody announced (plain arq producers): one command, the queue's
            # head, decides whether claiming is worth a round trip and when the next job is due.
            head = await self.pool.zrange(self.queue_name, 0, 0, withscores=True)
            if not head or head[0][1] > now_ms:
                self._next_due_ms = int(head[0][1]) if head else None
                return
        self._claiming = want
        try:
            claim = await self._claimer_for_pool().claim(want, self.queue_read_limit, now_ms)
        finally:
            self._claiming = 0
        self._apply(claim, capped=want < free)
        self._claimed_at_ms = now_ms

    def take_woken(self, claim: Claim) -> bool:
        """Start what a claim on wake-up took (:class:`WakeListener`); ``False``: no room for it, since
        this loop filled the worker while the read waited (the listener gives the jobs back)."""
        free = self.max_jobs - self.job_counter
        if len(claim.jobs) > free - self._claiming or not self.allow_pick_jobs:
            return False
        if not claim.jobs:
            self.request_poll()  # nothing due by the token's time (a token of 1: ingestion, say)
            return True
        due_before = self._next_due_ms
        self._apply(claim, capped=claim.wanted < free)
        if self._backlog or self._next_due_ms != due_before:
            self._nudge.set()
        return True

    def _apply(self, claim: Claim, capped: bool) -> None:
        # A claim cut short by queue_read_limit is a full poll, as in arq: the rest waits for the next one.
        self._backlog = claim.full and not capped
        self._next_due_ms = claim.next_due_ms
        self._queued = claim.queued
        self._due = claim.due
        for job in claim.jobs:
            self._own.claimed(job.job_id)
            self.job_counter += 1
            task = self.loop.create_task(self.run_claimed(job))
            task.add_done_callback(functools.partial(self._job_done, job.job_id))
            self.tasks[job.job_id] = task

    def _job_done(self, job_id: str, task: asyncio.Task[Any]) -> None:
        was_full = self.job_counter >= self.max_jobs
        self.job_counter -= 1
        if self.tasks.get(job_id) is task:
            del self.tasks[job_id]
        if not task.cancelled() and task.exception() is not None:
            self._task_error = task.exception()
            self.request_poll()
        elif self._backlog or self.burst:
            self._refill()
        elif was_full:
            self._nudge.set()  # room again: listen for wake-ups and honour the next due time

    def _refill(self) -> None:
        """Claim for free slots while jobs are waiting: at once when half the slots are free (or none
        runs), else after :data:`REFILL_WAIT_S`, so that short jobs are claimed several at a time and a
        slot freed by a long job still waits no more than that."""
        if self.max_jobs - self.job_counter >= self._refill_at or not self.job_counter:
            self.request_poll()
        elif self._refill_timer is None:
            self._refill_timer = self.loop.call_later(REFILL_WAIT_S, self.request_poll)

    def scheduled_own(self, job_id: str | None, due_ms: int) -> None:
        """This worker scheduled a job due at ``due_ms`` (a cron tick, a retry): burst mode waits for it."""
        self._own.add(job_id, due_ms)

    def request_poll(self) -> None:
        """Claim on the next iteration (a wake token arrived, or this worker requeued a job)."""
        self._poll_requested = True
        self._nudge.set()

    async def _burst_done(self) -> bool:
        """No job due, none running here and none it scheduled itself waiting; or, told to stop by a
        signal, once its jobs have ended (:mod:`arq_django.worker.burst`)."""
        running = any(not task.done() for task in self.tasks.values())
        if 0 <= self.max_burst_jobs <= self._jobs_started() or not (self.allow_pick_jobs or running):
            return True
        if self._queued is None:
            return False
        if self.burst_wait_deferred:
            return self._queued == 0
        if self._due or running:
            return False
        # Only what it scheduled itself is left: enqueue no new cron tick, or an every-second cron
        # would keep it running forever.
        self._winding_down = True
        return not await self._own.waiting(self.pool, self.queue_name, self._claimed_at_ms)

    async def _wait(self) -> None:
        """Sleep until a wake token, a useful free slot, the next due job or the next tick."""
        self._nudge.clear()
        room = self.allow_pick_jobs and self.job_counter < self.max_jobs
        if self._task_error is not None or (room and (self._poll_requested or self._backlog)):
            return
        if self._listener is None:
            # A burst worker claims on its own iterations only (they decide when it is done).
            taker = None if self.burst else (self._claimer_for_pool(), self)
            self._listener = WakeListener(self.pool, self.queue_name, self.request_poll, taker)
        now = self.loop.time()
        deadline = self._next_tick
        if room:
            self._listener.arm()
            if self._next_due_ms is not None:
                deadline = min(deadline, now + (self._next_due_ms - timestamp_ms()) / 1000)
        else:
            self._listener.disarm()
        timeout = deadline - now
        if timeout <= 0:
            await asyncio.sleep(0)  # always let the running jobs run before the next iteration
            return
        try:
            async with asyncio.timeout(timeout):
                await self._nudge.wait()
        except TimeoutError:
            pass

    async def run_cron(self, n: datetime, delay: float, num_windows: int = 2) -> None:
        if self._winding_down:
            return
        before = [cron_job.next_run for cron_job in self.cron_jobs]
        await super().run_cron(n, delay, num_windows)
        if self._own.cron_ticks(self.cron_jobs, before):
            self.request_poll()  # cron jobs are enqueued deferred and without a wake token
            self._queued = None  # the queue just grew: a burst worker is not done yet

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        if self._claimer is not None and self._claimer.lost and self._pool is not None:
            # A claim cancelled by the shutdown: hand its jobs to the next worker now, if Redis answers.
            with contextlib.suppress(*REDIS_DOWN, RedisError):
                await self._claimer.release_lost()
        await super().close()
