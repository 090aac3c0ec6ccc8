"""Worker lifecycle hooks: logging, the sync-handler thread pool and database connection hygiene."""

from __future__ import annotations

import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

from .conf import get_config
from .db_hygiene import DbHygiene
from .runner import EXECUTOR_KEY

logger = logging.getLogger("arq_django.worker")
HYGIENE_KEY = "arq_django_db_hygiene"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def on_startup(ctx: dict[str, Any]) -> None:
    config = get_config()
    ctx[EXECUTOR_KEY] = ThreadPoolExecutor(config.sync_threads, thread_name_prefix="arq-django-sync")
    ctx["worker_name"] = worker_name()
    worker = ctx.get("worker")
    if worker is not None:
        hygiene = ctx[HYGIENE_KEY] = DbHygiene()
        worker.add_listener(hygiene)
        hygiene.start()
    logger.info(
        "arq_django worker %s started on queue %s", ctx["worker_name"], getattr(worker, "queue_name", "?")
    )


async def on_shutdown(ctx: dict[str, Any]) -> None:
    hygiene: DbHygiene | None = ctx.pop(HYGIENE_KEY, None)
    if hygiene is not None:
        await hygiene.stop()
    executor: ThreadPoolExecutor | None = ctx.pop(EXECUTOR_KEY, None)
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)
    await sync_to_async(connections.close_all)()
    logger.info("arq_django worker %s stopped", ctx.get("worker_name"))
