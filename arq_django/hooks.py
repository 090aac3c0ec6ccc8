"""Worker lifecycle hooks: logging, the sync-handler thread pool and database connection hygiene."""

from __future__ import annotations

import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

from .conf import get_config
from .ingest import background as list_ingestion
from .runner import EXECUTOR_KEY

logger = logging.getLogger("arq_django.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def on_startup(ctx: dict[str, Any]) -> None:
    config = get_config()
    ctx[EXECUTOR_KEY] = ThreadPoolExecutor(config.sync_threads, thread_name_prefix="arq-django-sync")
    ctx["worker_name"] = worker_name()
    await list_ingestion.start(ctx)
    logger.info("arq_django worker %s started", ctx["worker_name"])


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await list_ingestion.stop(ctx)
    executor: ThreadPoolExecutor | None = ctx.pop(EXECUTOR_KEY, None)
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)
    await sync_to_async(connections.close_all)()
    logger.info("arq_django worker %s stopped", ctx.get("worker_name"))


async def on_job_start(ctx: dict[str, Any]) -> None:
    # Async handlers reach the database through Django's async ORM, which runs queries in the
    # thread-sensitive executor: that thread's stale connections are closed here, as a request would.
    await sync_to_async(close_old_connections)()


async def on_job_end(ctx: dict[str, Any]) -> None:
    await sync_to_async(close_old_connections)()
