"""The worker side of the mirror: buffer job reports on the event loop, write them from a thread.

The worker calls :meth:`Mirror.job_started` / :meth:`Mirror.job_ended` (and progress reports arrive
through :meth:`Mirror.progress`) on its event loop; each only appends to a list. A task wakes every
``flush_interval`` (or when ``batch_size`` reports are waiting), hands the list to the mirror's own
thread, which merges it into one update per job and upserts it in one transaction. The loop never
waits for the database.

When a write fails (database down, locked, restarting) the merged rows are kept in the thread and
retried with backoff, merged with whatever arrives meanwhile; jobs keep running and their results
stay in Redis. Past :data:`MAX_CARRIED_ROWS` the oldest finished rows are dropped (their results are
in Redis) and a reconcile runs once writes succeed again. Reconcile also runs at start and every
``reconcile_interval`` to cover a worker that died with rows unwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from django.db import connections

from arq_django.conf import Config
from arq_django.connection import sync_client
from arq_django.jobs.progress import ProgressReports, ProgressUpdate
from arq_django.mirror import reconcile
from arq_django.mirror.rows import Report, RowUpdate, collect
from arq_django.mirror.writer import database_for_writes, upsert
from arq_django.models import JobResult
from arq_django.worker.events import JobEnd, JobStart
from arq_django.worker.extensions.base import WorkerExtension, WorkerHost

logger = logging.getLogger("arq_django.mirror")

MAX_CARRIED_ROWS: Final = 100_000
"""Rows kept for retry while the database is unavailable; beyond that finished rows are dropped."""
MAX_BACKOFF_S: Final = 5.0
LOG_EVERY_S: Final = 30.0
STOP_TIMEOUT_S: Final = 10.0
T = TypeVar("T")


class Mirror(WorkerExtension):
    """A worker extension that keeps ``JobResult`` rows up to date, in batches, off the event loop."""

    def __init__(
        self,
        *,
        flush_interval: float = 0.25,
        batch_size: int = 500,
        reconcile_interval: float = 60.0,
    ) -> None:
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.reconcile_interval = reconcile_interval
        self.rows_written = 0
        self.failed_flushes = 0
        self._pending: list[Report] = []
        self._wake = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Touched only in the mirror thread:
        self._carried: dict[str, RowUpdate] = {}
        self._dropped = 0

    @classmethod
    def from_config(cls, config: Config) -> Mirror:
        return cls(
            flush_interval=config.mirror_flush_interval,
            batch_size=config.mirror_batch_size,
            reconcile_interval=config.mirror_reconcile_interval,
        )

    # -- extension hooks: on the event loop, cheap ---------------------------------------------------
    async def on_start(self, worker: WorkerHost) -> None:
        self.start()
        progress = worker.extension(ProgressReports)
        if progress is not None:
            progress.subscribe(self.progress)

    async def on_stop(self, worker: WorkerHost) -> None:
        await self.stop()

    def job_started(self, event: JobStart) -> None:
        self._add(event)

    def job_ended(self, event: JobEnd) -> None:
        self._add(event)

    def progress(self, update: ProgressUpdate) -> None:
        self._add(update)

    def _add(self, report: Report) -> None:
        self._pending.append(report)
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="arq-django-mirror")
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._flush_loop(), name="arq-django-mirror-flush"),
            loop.create_task(self._reconcile_loop(), name="arq-django-mirror-reconcile"),
        ]

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Write what is buffered (waiting at most ``timeout``), then release the thread."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._executor is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except Exception as e:
            logger.warning(
                "result mirror: the last write failed (%s); reconcile fills those rows from arq's results "
                "when a worker next starts",
                _describe(e),
            )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._in_thread(connections.close_all), timeout)
        self._executor.shutdown(wait=False)
        self._executor = None

    async def flush(self) -> int:
        """Write everything reported so far; returns the rows written. Raises the database's error
        (the rows are kept and retried by the next flush)."""
        batch, self._pending = self._pending, []
        return await self._in_thread(self._write, batch)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._executor is not None, "Mirror.start() was not called"
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- the mirror thread --------------------------------------------------------------------------
    def _write(self, batch: list[Report]) -> int:
        rows, self._carried = self._carried, {}
        collect(batch, rows)
        if not rows:
            return 0
        try:
            written = upsert(rows.values())
        except BaseException:
            self._carried = rows
            self._drop_excess()
            with contextlib.suppress(Exception):
                connections[database_for_writes()].close()  # reconnect on the next try
            raise
        return written

    def _drop_excess(self) -> None:
        excess = len(self._carried) - MAX_CARRIED_ROWS
        if excess <= 0:
            return
        finished = [k for k, row in self._carried.items() if row.status in JobResult.FINISHED][:excess]
        for job_id in finished:
            del self._carried[job_id]
        self._dropped += len(finished)
        logger.error(
            "result mirror: %d rows waiting for the database; dropped the %d oldest finished ones, "
            "which reconcile fills from arq's results once the database is back",
            len(self._carried),
            len(finished),
        )

    def _reconcile(self, first: bool) -> int:
        # Passes after the first take a Redis lock so that one worker per interval does the scan.
        lock_for = None if first else self.reconcile_interval
        return reconcile.reconcile(sync_client(), lock_for=lock_for)

    # -- tasks on the loop --------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        failing_since: float | None = None
        last_log = 0.0
        backoff = self.flush_interval
        while True:
            if failing_since is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_interval)
            else:
                await asyncio.sleep(backoff)
            self._wake.clear()
            try:
                written = await self.flush()
            except Exception as e:
                self.failed_flushes += 1
                now = time.monotonic()
                if failing_since is None:
                    failing_since = now
                if now - last_log >= LOG_EVERY_S or self.failed_flushes == 1:
                    last_log = now
                    logger.warning(
                        "result mirror: writing rows failed (%s); jobs keep running and their results "
                        "stay in Redis, retrying",
                        _describe(e),
                    )
                backoff = min(max(backoff * 2, 0.1), MAX_BACKOFF_S)
                continue
            self.rows_written += written
            if failing_since is not None:
                logger.warning(
                    "result mirror: writes work again after %.1f s (%d rows written)",
                    time.monotonic() - failing_since,
                    written,
                )
                failing_since = None
                backoff = self.flush_interval
                if self._dropped:
                    self._dropped = 0
                    await self._run_reconcile(first=True)

    async def _reconcile_loop(self) -> None:
        first = True
        while True:
            await self._run_reconcile(first)
            first = False
            if not self.reconcile_interval:
                return
            await asyncio.sleep(self.reconcile_interval)

    async def _run_reconcile(self, first: bool) -> None:
        try:
            await self._in_thread(self._reconcile, first)
        except Exception as e:
            logger.warning("result mirror: reconcile failed (%s); it runs again later", _describe(e))


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
