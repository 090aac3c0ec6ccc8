"""Worker lifecycle hooks: logging, the sync-handler thread pool, database connection hygiene, the
result mirror and ``ctx["progress"]``."""

from __future__ import annotations

import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

from arq_django.conf import get_config
from arq_django.ingest import background as list_ingestion
from arq_django.jobs.handlers import EXECUTOR_KEY
from arq_django.jobs.progress import CTX_KEY as PROGRESS_KEY
from arq_django.jobs.progress import ProgressReporter, ttl_for_jobs
from arq_django.signals import SignalSender
from arq_django.worker import heartbeat
from arq_django.worker.db_hygiene import DbHygiene
from arq_django.worker.overruns import CTX_KEY as OVERRUNS_KEY
from arq_django.worker.overruns import Overruns

logger = logging.getLogger("arq_django.worker")
HYGIENE_KEY = "arq_django_db_hygiene"
SIGNALS_KEY = "arq_django_signals"
MIRROR_KEY = "arq_django_mirror"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def on_startup(ctx: dict[str, Any]) -> None:
    config = get_config()
    ctx[EXECUTOR_KEY] = ThreadPoolExecutor(config.sync_threads, thread_name_prefix="arq-django-sync")
    ctx["worker_name"] = worker_name()
    worker = ctx.get("worker")
    if worker is not None:
        ctx[OVERRUNS_KEY] = Overruns(worker, config.sync_overrun_limit)
        hygiene = ctx[HYGIENE_KEY] = DbHygiene()
        worker.add_listener(hygiene)
        hygiene.start()
        sender = ctx[SIGNALS_KEY] = SignalSender()
        worker.add_listener(sender)
        if config.mirror:
            from arq_django.mirror.listener import Mirror  # models load only once apps are ready

            mirror = ctx[MIRROR_KEY] = Mirror.from_config(config)
            worker.add_listener(mirror)
            mirror.start()
    await list_ingestion.start(ctx)
    await heartbeat.start(ctx)
    logger.info(
        "arq_django worker %s started on queue %s", ctx["worker_name"], getattr(worker, "queue_name", "?")
    )


async def on_job_start(ctx: dict[str, Any]) -> None:
    """Give the job its ``ctx["progress"]`` reporter."""
    mirror = ctx.get(MIRROR_KEY)
    worker = ctx.get("worker")
    ctx[PROGRESS_KEY] = ProgressReporter(
        ctx["job_id"],
        ctx["job_try"],
        getattr(worker, "queue_name", ""),
        ctx["redis"],
        mirror.progress if mirror is not None else None,
        ttl_for_jobs(),
    )


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await list_ingestion.stop(ctx)
    sender: SignalSender | None = ctx.pop(SIGNALS_KEY, None)
    if sender is not None:
        await sender.aclose()
        ctx["worker"].remove_listener(sender)
    await heartbeat.stop(ctx)
    mirror = ctx.pop(MIRROR_KEY, None)
    if mirror is not None:
        await mirror.stop()
    hygiene: DbHygiene | None = ctx.pop(HYGIENE_KEY, None)
    if hygiene is not None:
        await hygiene.stop()
    overruns: Overruns | None = ctx.pop(OVERRUNS_KEY, None)
    executor: ThreadPoolExecutor | None = ctx.pop(EXECUTOR_KEY, None)
    if executor is not None:
        # Threads past their job's timeout may never end: waiting for them would hang the shutdown.
        executor.shutdown(wait=not (overruns and overruns.running), cancel_futures=True)
    await sync_to_async(connections.close_all)()
    logger.info("arq_django worker %s stopped", ctx.get("worker_name"))
    if overruns is not None:
        overruns.exit_if_stuck()
