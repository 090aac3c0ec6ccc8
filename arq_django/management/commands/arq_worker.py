"""``manage.py arq_worker``: the same worker as ``arq arq_django.worker.WorkerSettings``."""

from __future__ import annotations

import asyncio
import logging.config
from typing import Any

from arq.cli import watch_reload
from arq.logs import default_log_config
from arq.worker import run_worker
from django.core.management.base import BaseCommand, CommandParser

from arq_django.worker_settings import settings_class


class Command(BaseCommand):
    help = "Run an arq worker for the registered jobs (same as `arq arq_django.worker.WorkerSettings`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", help="queue to serve (default ARQ_DJANGO['QUEUE'])")
        parser.add_argument(
            "--burst",
            action="store_true",
            help="exit once no job is due and none is running; deferred jobs stay queued for the next "
            "worker (cron ticks and retries this worker scheduled run first)",
        )
        parser.add_argument(
            "--burst-wait-deferred",
            action="store_true",
            help="with --burst, also wait for every deferred job, as arq does "
            "(default ARQ_DJANGO['BURST_WAIT_DEFERRED'])",
        )
        parser.add_argument(
            "--max-jobs", type=int, help="jobs to run at once (default ARQ_DJANGO['MAX_JOBS'])"
        )
        parser.add_argument("--watch", metavar="PATH", help="reload the worker when files under PATH change")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.config.dictConfig(default_log_config(options["verbosity"] > 1))
        overrides: dict[str, Any] = {}
        if options["max_jobs"] is not None:
            overrides["max_jobs"] = options["max_jobs"]
        if options["burst"]:
            overrides["burst"] = True
        if options["burst_wait_deferred"]:
            overrides["burst_wait_deferred"] = True
        worker_settings = settings_class(options["queue"], **overrides)
        if options["watch"]:
            asyncio.run(watch_reload(options["watch"], worker_settings))  # type: ignore[arg-type]
        else:
            run_worker(worker_settings)  # type: ignore[arg-type]
