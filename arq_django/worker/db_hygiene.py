"""Database connection hygiene for async handlers, off the per-job hot path.

Sync handlers close stale connections in their own thread before and after each job (``runner``).
Async handlers reach the database through Django's async ORM, which runs queries in asgiref's single
thread-sensitive executor; reaching that thread costs two thread hops, so instead of paying them on
every job this closes its stale connections at most once per ``interval`` and right after any failed
job (a dropped connection shows up as a failure), the same ``close_old_connections()`` Django runs
around every request. At the worker's stop it closes every connection of that thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

from arq_django.worker.events import JobEnd, Outcome
from arq_django.worker.extensions.base import WorkerExtension, WorkerHost

logger = logging.getLogger("arq_django.worker")


class DbHygiene(WorkerExtension):
    """A worker extension with a background task (:meth:`start`, :meth:`stop` outside a worker)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def on_start(self, worker: WorkerHost) -> None:
        self.start()

    async def on_stop(self, worker: WorkerHost) -> None:
        await self.stop()
        await sync_to_async(connections.close_all)()

    def job_ended(self, event: JobEnd) -> None:
        if event.outcome is Outcome.FAILED:
            self._due.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="arq-django-db-hygiene")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self.interval)
            self._due.clear()
            try:
                await sync_to_async(close_old_connections)()
            except Exception:
                logger.exception("closing stale database connections failed")
