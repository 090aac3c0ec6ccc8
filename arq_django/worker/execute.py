"""arq_django's ``Worker``: arq's worker, owned and extended here (arq upstream is maintenance-only).

What it adds to ``arq.worker.Worker``:

- ``ctx['worker']`` refers to the worker, for hooks and background tasks;
- its :mod:`extensions <arq_django.worker.extensions>`, started before arq's ``on_startup`` and stopped
  after its ``on_shutdown``, with the sync-handler thread pool (:attr:`Worker.sync_threads`) first;
- a ``run_job`` of our own (arq's logic, split into steps) that reports every job's start and end to
  them, including the paths arq ends without calling ``on_job_end`` (expired, undecodable, unknown
  function, aborted before start, too many tries);
- the main loop of :mod:`arq_django.worker.loop`: batch claims and wake-ups instead of sleeping
  ``poll_delay``. Jobs claimed in a batch arrive at :meth:`Worker.run_claimed` already read;
- arq's ``finish_job`` writes, batched across the jobs that end together (:mod:`arq_django.worker.finish`).

arq's CLI builds this class through :mod:`arq_django.worker.cli`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any, TypeVar

import arq.cli
import arq.worker
from arq.constants import abort_jobs_ss, job_key_prefix, retry_key_prefix
from arq.cron import CronJob
from arq.jobs import SerializationError, deserialize_job_raw, serialize_result
from arq.utils import args_to_string, ms_to_datetime, timestamp_ms, to_ms, truncate
from arq.worker import JobExecutionFailed

from arq_django.worker.claim import ClaimedJob
from arq_django.worker.early import EarlyFailure
from arq_django.worker.events import JobListener, JobStart, Outcome
from arq_django.worker.extensions.base import ExtensionFactory, WorkerExtension
from arq_django.worker.extensions.chain import Extensions
from arq_django.worker.finish import Finish, Finisher, wait_written
from arq_django.worker.loop import LoopWorker
from arq_django.worker.outcome import NO_RESULT, TryOutcome, classify, completed, describe, exc_extra, job_end
from arq_django.worker.resolve import resolve_function
from arq_django.worker.threads import SyncThreads

logger = logging.getLogger("arq.worker")
E = TypeVar("E", bound=WorkerExtension)


class Worker(LoopWorker):
    """arq's worker with job events, ``ctx['worker']`` and arq_django's fast main loop."""

    def __init__(
        self,
        *args: Any,
        log_jobs: bool = True,
        history_index: bool = False,
        extensions: Sequence[ExtensionFactory] = (),
        sync_threads: SyncThreads | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.log_jobs = log_jobs
        """Log arq's start and end line for every job (``ARQ_DJANGO['LOG_JOBS']``)."""
        self.history_index = history_index
        """Index finished jobs for the history views (:func:`~arq_django.finish.history_key`). Off for
        a bare ``Worker`` (arq's keyspace, exactly); ``worker_settings.build()`` turns it on."""
        self.ctx["worker"] = self
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.extensions = Extensions(extensions)
        """Built and started with the worker (``ARQ_DJANGO['WORKER_EXTENSIONS']`` among them)."""
        self.sync_threads = sync_threads if sync_threads is not None else SyncThreads()
        """The pool sync handlers run in; the functions built for this worker are bound to it."""
        self._finisher: Finisher | None = None
        self._arq_startup, self._arq_shutdown = self.on_startup, self.on_shutdown
        self.on_startup, self.on_shutdown = self._startup, self._shutdown

    def extension(self, kind: type[E]) -> E | None:
        """The running extension of class ``kind`` (or a subclass), if any."""
        return self.extensions.get(kind)

    def add_listener(self, listener: JobListener) -> None:
        """Report job events to ``listener`` too (before the extensions), e.g. in tests."""
        self.extensions.add_listener(listener)

    def remove_listener(self, listener: JobListener) -> None:
        self.extensions.remove_listener(listener)

    async def _startup(self, ctx: dict[str, Any]) -> None:
        if self.extensions.factories:
            ctx["worker_name"] = self.name
        await self.extensions.start(self, first=[self.sync_threads])
        if self._arq_startup:
            await self._arq_startup(ctx)

    async def _shutdown(self, ctx: dict[str, Any]) -> None:
        try:
            if self._arq_shutdown:
                await self._arq_shutdown(ctx)
        finally:
            await self.extensions.stop(self)
        self.sync_threads.exit_if_stuck()  # last: it may end the process

    # -- one job ----------------------------------------------------------------------------------
    async def run_job(self, job_id: str, score: int) -> None:
        """Run a job claimed the arq way (in-progress key set): read it, then :meth:`run_claimed` it."""
        async with self.pool.pipeline(transaction=True) as pipe:
            pipe.get(job_key_prefix + job_id)
            pipe.incr(retry_key_prefix + job_id)
            pipe.expire(retry_key_prefix + job_id, 88400)
            if self.allow_abort_jobs:
                pipe.zrem(abort_jobs_ss, job_id)
                raw, job_try, _, abort_job = await pipe.execute()
            else:
                raw, job_try, _ = await pipe.execute()
                abort_job = False
        await self.run_claimed(ClaimedJob(job_id, score, raw, job_try, bool(abort_job)))

    async def run_claimed(self, job: ClaimedJob) -> None:
        """Run one claimed job: arq's ``Worker.run_job`` with events at every exit."""
        start_ms = timestamp_ms()
        job_id, score, raw, job_try, abort_job = job.job_id, job.score, job.raw, job.job_try, job.aborted
        early = EarlyFailure(self, job_id, job_try, start_ms)
        if not raw:
            logger.warning("job %s expired", job_id)
            return await early.fail(JobExecutionFailed("job expired"))
        try:
            function_name, args, kwargs, enqueue_job_try, enqueue_time_ms = deserialize_job_raw(
                raw, deserializer=self.job_deserializer
            )
        except SerializationError as e:
            # arq's DeserializationError is the stored result (plain arq callers match on it); the
            # reported error also says why.
            logger.exception("deserializing job %s failed", job_id)
            cause = e.__cause__ or e
            return await early.fail(e, detail=f"job record cannot be decoded: {describe(cause)}")
        early.describe_job(function_name, args, kwargs, enqueue_time_ms)
        if not isinstance(function_name, str) or not isinstance(kwargs, dict):
            return await early.fail(JobExecutionFailed("job record has the wrong shape (f/a/k)"))

        if abort_job:
            logger.info(
                "%6.2fs ⊘ %s:%s aborted before start",
                (start_ms - enqueue_time_ms) / 1000,
                job_id,
                function_name,
            )
            return await early.fail(asyncio.CancelledError(), outcome=Outcome.ABORTED)
        function = self.functions.get(function_name)
        if function is None:
            try:
                function = resolve_function(
                    self.functions, function_name, self.job_timeout_s, self.sync_threads
                )
            except Exception as e:
                return await early.fail(
                    JobExecutionFailed(f"function {function_name!r} not found"), detail=str(e)
                )
        if function is None:
            logger.warning(
                "job %s, function %r not found on queue %r", job_id, function_name, self.queue_name
            )
            return await early.fail(
                JobExecutionFailed(f"function {function_name!r} not found"),
                detail=f"on queue {self.queue_name!r}; register it with @job or run a worker that has it",
            )
        if enqueue_job_try and enqueue_job_try > job_try:
            job_try = enqueue_job_try
            early.job_try = job_try
            await self.pool.setex(retry_key_prefix + job_id, 88400, str(job_try))
        max_tries = self.max_tries if function.max_tries is None else function.max_tries
        early.max_tries = max_tries
        if job_try > max_tries:
            logger.warning(
                "%6.2fs ! %s:%s max retries %d exceeded",
                (start_ms - enqueue_time_ms) / 1000,
                job_id,
                function_name,
                max_tries,
            )
            return await early.fail(JobExecutionFailed(f"max {max_tries} retries exceeded"))

        await self._execute(
            function, job_id, function_name, tuple(args), kwargs, job_try, max_tries, enqueue_time_ms, score
        )

    async def _execute(  # arq's own flow, kept in one piece so it stays comparable with arq's
        self,
        function: arq.worker.Function | CronJob,
        job_id: str,
        function_name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        job_try: int,
        max_tries: int,
        enqueue_time_ms: int,
        score: int,
    ) -> None:
        is_cron = hasattr(function, "next_run")
        ref = function_name if is_cron else f"{job_id}:{function_name}"
        # Read from arq.worker at run time, where arq's own tests (and users) patch it.
        keep_in_progress: float | None = arq.worker.keep_cronjob_progress if is_cron else None  # type: ignore[attr-defined]
        timeout_s = self.job_timeout_s if function.timeout_s is None else function.timeout_s
        enqueue_time = ms_to_datetime(enqueue_time_ms)
        ctx = {**self.ctx, "job_id": job_id, "job_try": job_try, "enqueue_time": enqueue_time, "score": score}
        if self.on_job_start:
            await self.on_job_start(ctx)

        start_ms = timestamp_ms()
        started = JobStart(
            job_id=job_id,
            function=function_name,
            queue_name=self.queue_name,
            args=args,
            kwargs=kwargs,
            job_try=job_try,
            max_tries=max_tries,
            enqueue_time=enqueue_time,
            scheduled_for=ms_to_datetime(score),
            started_at=ms_to_datetime(start_ms),
            worker=self.name,
        )
        self.extensions.job_context(ctx, started)
        self.extensions.job_started(started)
        log_job = self.log_jobs and logger.isEnabledFor(logging.INFO)
        if log_job:  # arq's two lines per job; building them is skipped when nobody reads them
            extra = f" try={job_try}" if job_try > 1 else ""
            if (start_ms - score) > 1200:
                extra += f" delayed={(start_ms - score) / 1000:0.2f}s"
            logger.info(
                "%6.2fs → %s(%s)%s",
                (start_ms - enqueue_time_ms) / 1000,
                ref,
                args_to_string(args, kwargs),
                extra,
            )
        try:
            self.job_tasks[job_id] = task = self.loop.create_task(function.coroutine(ctx, *args, **kwargs))
            try:
                async with asyncio.timeout(timeout_s):
                    result = await task
            finally:
                del self.job_tasks[job_id]
        except (Exception, asyncio.CancelledError) as e:
            finished_ms = timestamp_ms()
            ended = classify(
                e,
                retry_jobs=self.retry_jobs,
                aborting=job_id in self.aborting_tasks,
                timed_out=isinstance(e, TimeoutError) and task.cancelled(),
                timeout_s=timeout_s,
                score=score,
                finished_ms=finished_ms,
            )
            t = (finished_ms - start_ms) / 1000
            log_format, log_args = "%6.2fs " + ended.log, (t, ref, *ended.log_args)
            if ended.outcome is Outcome.FAILED:  # inside the except: the record carries the traceback
                logger.exception(log_format, *log_args, extra={"extra": exc_extra(e)})
            else:
                logger.info(log_format, *log_args)
        else:
            ended = completed(result)
            finished_ms = timestamp_ms()
            if log_job:
                result_str = "" if result is None or not self.log_results else truncate(repr(result))
                logger.info("%6.2fs ← %s ● %s", (finished_ms - start_ms) / 1000, ref, result_str)
        self._count(job_id, ended)

        keep_result_forever = (
            self.keep_result_forever if function.keep_result_forever is None else function.keep_result_forever
        )
        result_timeout_s = self.keep_result_s if function.keep_result_s is None else function.keep_result_s
        result_data = None
        if ended.result is not NO_RESULT and (keep_result_forever or result_timeout_s > 0):
            result_data = serialize_result(
                function_name,
                args,
                kwargs,
                job_try,
                enqueue_time_ms,
                ended.success,
                ended.result,
                start_ms,
                finished_ms,
                ref,
                self.queue_name,
                job_id=job_id,
                serializer=self.job_serializer,
            )
        if self.on_job_end:
            await self.on_job_end(ctx)
        await wait_written(
            self._submit_finish(
                job_id,
                ended.finish,
                result_data,
                result_timeout_s,
                keep_result_forever,
                ended.incr_score,
                keep_in_progress,
            )
        )
        if not ended.finish:
            self.request_poll()  # requeued (retry or shutdown): its new score may be due before our timers
            if ended.retry_at_ms:
                self.scheduled_own(job_id, ended.retry_at_ms)
        self.extensions.job_ended(
            job_end(
                job_id=job_id,
                function=function_name,
                queue_name=self.queue_name,
                args=args,
                kwargs=kwargs,
                job_try=job_try,
                max_tries=max_tries,
                enqueue_time=started.enqueue_time,
                started_at=started.started_at,
                finished_at=ms_to_datetime(finished_ms),
                worker=self.name,
                ended=ended,
            ),
        )
        if self.after_job_end:
            await self.after_job_end(ctx)

    def _count(self, job_id: str, ended: TryOutcome) -> None:
        """arq's counters (``jobs_complete``/``failed``/``retried``) and its aborting set, for one try."""
        if ended.outcome is Outcome.COMPLETE:
            self.jobs_complete += 1
        elif ended.outcome is Outcome.RETRYING:
            self.jobs_retried += 1
        else:
            self.jobs_failed += 1
            if ended.outcome is Outcome.ABORTED:
                self.aborting_tasks.remove(job_id)

    async def finish_job(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> None:
        """arq's ``finish_job`` writes, batched with the jobs ending now (:mod:`arq_django.worker.finish`)."""
        await self._submit_finish(
            job_id, finish, result_data, result_timeout_s, keep_result_forever, incr_score, keep_in_progress
        )

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        """arq's ``finish_failed_job`` writes (a job that failed before it could run: expired, out of
        tries, aborted while queued) through the same batched call, so its result is in the history
        index too."""
        keep = self.keep_result_forever or self.keep_result_s > 0
        await self._submit_finish(
            job_id,
            True,
            result_data if keep else None,
            self.keep_result_s,
            self.keep_result_forever,
            None,
            None,
        )

    def _submit_finish(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> asyncio.Future[None]:
        if self._finisher is None or self._finisher.pool is not self.pool:
            self._finisher = Finisher(self.pool, self.queue_name, history=self.history_index)
        return self._finisher.submit(
            Finish(
                job_id=job_id,
                finish=finish,
                result=result_data,
                result_ttl_ms=None if keep_result_forever else to_ms(result_timeout_s),
                incr_score_ms=incr_score,
                keep_in_progress_ms=to_ms(keep_in_progress),
            )
        )


def _signature(cls: type) -> inspect.Signature:
    """Every keyword the class accepts, arq's and ours, so that ``inspect.signature(Worker)`` (arq's
    ``get_kwargs``, ``create_worker``) sees them all rather than ``(*args, **kwargs)``."""
    params: dict[str, inspect.Parameter] = {}
    for klass in reversed(cls.__mro__):
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        for param in list(inspect.signature(init).parameters.values())[1:]:
            if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                params.setdefault(param.name, param)
    return inspect.Signature(sorted(params.values(), key=lambda p: p.kind))


Worker.__signature__ = _signature(Worker)  # type: ignore[attr-defined]
