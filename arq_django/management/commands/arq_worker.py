"""``manage.py arq_worker``: the same worker as ``arq arq_django.worker.WorkerSettings``; with
``--processes N``, N of them under a supervisor (:mod:`arq_django.worker.supervisor`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.exceptions import RedisUnavailable
from arq_django.management.commands._worker_args import add_worker_arguments
from arq_django.worker import require_arq

require_arq()  # before the worker's modules: one clear line when arq-django[worker] is missing
from arq_django.worker.serve import ServeOptions, serve, serve_watching  # noqa: E402
from arq_django.worker.supervisor import AUTO, Supervisor, parse_processes  # noqa: E402

STOP_MARGIN_S = 30.0
"""With ``--processes``: how long past ``JOB_COMPLETION_WAIT`` a worker may take to stop before it is
killed (arq cancels the jobs still running at ``JOB_COMPLETION_WAIT`` and then closes)."""


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
        parser.add_argument(
            "--watch",
            metavar="PATH",
            help="start a new worker process when files under PATH change (pip install 'arq-django[watch]')",
        )
        parser.add_argument(
            "--processes",
            default="1",
            metavar="N",
            help=f"worker processes to run under a supervisor that restarts them; '{AUTO}': one per CPU "
            "(default 1: this process is the worker)",
        )
        add_worker_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        overrides: dict[str, Any] = {}
        if options["max_jobs"] is not None:
            overrides["max_jobs"] = options["max_jobs"]
        if options["burst"]:
            overrides["burst"] = True
        if options["burst_wait_deferred"]:
            overrides["burst_wait_deferred"] = True
        serve_options = ServeOptions(
            queue=options["queue"],
            overrides=overrides,
            log_level=options["log_level"],
            verbose=options["verbosity"] > 1,
            redis_retries=options["redis_retries"],
        )
        try:
            processes = parse_processes(options["processes"])
        except ValueError as e:
            raise CommandError(str(e)) from e
        if processes > 1 and options["watch"]:
            raise CommandError("--watch runs one worker process: drop --processes, or --watch.")
        try:
            if processes > 1:
                self._supervise(serve_options, processes)
            elif options["watch"]:
                serve_watching(options["watch"], serve_options)
            else:
                serve(serve_options)
        except (RedisUnavailable, ImproperlyConfigured) as e:
            raise CommandError(str(e)) from e

    def _supervise(self, serve_options: ServeOptions, processes: int) -> None:
        from arq_django.conf import get_config
        from arq_django.worker.settings import build

        build(serve_options.queue, **serve_options.overrides)  # bad settings fail here, not N times over
        stop_timeout = get_config().job_completion_wait + STOP_MARGIN_S
        status = Supervisor(serve_options, processes, stop_timeout=stop_timeout).run()
        if status:
            raise SystemExit(status)
