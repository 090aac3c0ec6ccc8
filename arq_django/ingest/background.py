"""List ingestion inside the arq_django worker (``ARQ_DJANGO["LIST_SOURCES"]``): no extra process.

The worker's startup hook starts one supervised :class:`~.ingester.ListIngester` per source
(:mod:`.supervise`: restarted with backoff after a crash) as a background task on its loop, sharing the
worker's Redis pool for short commands (``BLMOVE`` has a connection of its own); the shutdown hook
stops them, which hands any claimed but uncommitted message back to its list.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq_django.conf import get_config
from arq_django.ingest.supervise import Supervisor

logger = logging.getLogger("arq_django.ingest")

CTX_KEY = "arq_django_ingesters"
"""``ctx`` key holding the running ``(supervisor, task)`` pairs."""


def _report(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("list ingestion supervisor stopped on an error", exc_info=task.exception())


async def start(ctx: dict[str, Any]) -> None:
    """Start ingesting every configured source (nothing when ``LIST_SOURCES`` is empty)."""
    running = []
    for source in get_config().list_sources:
        supervisor = Supervisor(source, client=ctx.get("redis"))
        task = asyncio.create_task(supervisor.run(), name=f"arq_django ingest {source}")
        task.add_done_callback(_report)
        running.append((supervisor, task))
    ctx[CTX_KEY] = running


async def stop(ctx: dict[str, Any]) -> None:
    """Stop the ingesters and wait for them to hand back what they hold."""
    running: list[tuple[Supervisor, asyncio.Task[Any]]] = ctx.pop(CTX_KEY, [])
    for supervisor, _ in running:
        supervisor.stop()
    for supervisor, task in running:
        block = supervisor.ingester.block if supervisor.ingester is not None else 1.0
        _, pending = await asyncio.wait({task}, timeout=block + get_config().socket_timeout + 5)
        for late in pending:
            late.cancel()
        await asyncio.gather(task, return_exceptions=True)
