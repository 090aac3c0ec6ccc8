"""List ingestion inside the arq_django worker (``ARQ_DJANGO["LIST_SOURCES"]``): no extra process.

The worker's :class:`ListIngestion` extension starts one supervised :class:`~.ingester.ListIngester` per
source (:mod:`.supervise`: restarted with backoff after a crash) as a background task on its loop,
sharing the worker's Redis pool for short commands (``BLMOVE`` has a connection of its own); stopping it
hands any claimed but uncommitted message back to its list.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from arq_django.conf import get_config
from arq_django.ingest.supervise import Supervisor
from arq_django.worker.extensions.base import WorkerExtension, WorkerHost

if TYPE_CHECKING:
    from arq.connections import ArqRedis

logger = logging.getLogger("arq_django.ingest")


def _report(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("list ingestion supervisor stopped on an error", exc_info=task.exception())


class ListIngestion(WorkerExtension):
    """Ingests every configured source while the worker runs (nothing when ``LIST_SOURCES`` is empty)."""

    def __init__(self) -> None:
        self.running: list[tuple[Supervisor, asyncio.Task[Any]]] = []

    async def on_start(self, worker: WorkerHost) -> None:
        await self.start(worker.pool)

    async def on_stop(self, worker: WorkerHost) -> None:
        await self.stop()

    async def start(self, client: ArqRedis | None) -> None:
        """Start a supervised ingester per source, on ``client`` (``None``: a pool of their own)."""
        for source in get_config().list_sources:
            supervisor = Supervisor(source, client=client)
            task = asyncio.create_task(supervisor.run(), name=f"arq_django ingest {source}")
            task.add_done_callback(_report)
            self.running.append((supervisor, task))

    async def stop(self) -> None:
        """Stop the ingesters and wait for them to hand back what they hold."""
        running, self.running = self.running, []
        for supervisor, _ in running:
            supervisor.stop()
        for supervisor, task in running:
            block = supervisor.ingester.block if supervisor.ingester is not None else 1.0
            _, pending = await asyncio.wait({task}, timeout=block + get_config().socket_timeout + 5)
            for late in pending:
                late.cancel()
            await asyncio.gather(task, return_exceptions=True)
