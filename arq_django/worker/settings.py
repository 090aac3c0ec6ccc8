"""Build arq worker settings from the registry and ``ARQ_DJANGO``.

arq reads a settings class's *own* ``__dict__`` (inherited attributes and unknown names are silently
ignored), so :func:`apply` sets every option directly on the class it is given.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.utils import to_seconds
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from arq_django.conf import get_config
from arq_django.jobs.handlers import to_cron_job, to_function
from arq_django.jobs.registry import registry
from arq_django.jobs.routing import check_known, cron_jobs_for, jobs_for
from arq_django.serializers import get_serializer
from arq_django.tasks.setup import configured as tasks_configured
from arq_django.tasks.setup import placeholder
from arq_django.worker.cli import install
from arq_django.worker.execute import Worker
from arq_django.worker.extensions import configured
from arq_django.worker.redis_pool import redis_settings
from arq_django.worker.threads import SyncThreads

install()

logger = logging.getLogger("arq_django.worker")


def build(queue: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Options for a worker serving ``queue`` (default ``ARQ_DJANGO['QUEUE']``).

    ``worker_class`` is arq_django's :class:`~arq_django.worker.execute.Worker`; the rest are its keyword
    arguments. Use :func:`create_worker` to build one in-process. The worker's extensions are
    :func:`arq_django.worker.extensions.configured.factories`; its functions are bound to its
    ``sync_threads``.
    """
    config = get_config()
    queue_name = queue or config.queue
    specs = registry.all()
    tasks = tasks_configured()  # @task functions arrive by module_path: a worker needs no @job for them
    if not specs and not tasks:
        raise ImproperlyConfigured(
            "arq_django found no jobs: decorate handlers with @job in an installed app's "
            f"{' or '.join(config.job_modules)} module (ARQ_DJANGO['JOB_MODULES'])."
        )
    check_known(queue_name)
    job_timeout = to_seconds(overrides.get("job_timeout", config.job_timeout)) or config.job_timeout
    cron_specs = cron_jobs_for(queue_name)
    cron_names = {spec.name for spec in cron_specs}
    threads = SyncThreads(config.sync_threads, config.sync_overrun_limit)
    functions = [
        to_function(s, job_timeout, threads) for s in jobs_for(queue_name) if s.name not in cron_names
    ]
    if not functions and not cron_specs and not tasks:
        raise ImproperlyConfigured(
            f"no job runs on queue {queue_name!r}: every job is pinned to another queue with @job(queue=...)."
        )
    if not functions and not cron_specs:
        functions = [placeholder()]  # tasks only: arq refuses a worker without a function
    logger.info(
        "queue %s: %d jobs (%s)%s",
        queue_name,
        len(functions),
        ", ".join(f.name for f in functions),
        f"; cron: {', '.join(sorted(cron_names))}" if cron_names else "",
    )
    serializer = get_serializer()
    options: dict[str, Any] = {
        "worker_class": Worker,
        "functions": functions,
        "cron_jobs": [to_cron_job(spec, job_timeout, threads) for spec in cron_specs],
        "allow_abort_jobs": True,
        "timezone": timezone.get_default_timezone(),
        "queue_name": queue_name,
        "redis_settings": redis_settings(config, queue_name),
        "job_serializer": serializer.dumps,
        "job_deserializer": serializer.loads,
        "extensions": configured.factories(config),
        "sync_threads": threads,
        "max_jobs": config.max_jobs,
        "job_timeout": config.job_timeout,
        "keep_result": config.keep_result,
        "max_tries": config.max_tries,
        "poll_delay": config.poll_delay,
        "health_check_interval": config.health_check_interval,
        "job_completion_wait": config.job_completion_wait,
        "expires_extra_ms": round(config.expires_extra * 1000),
        "log_jobs": config.log_jobs,
        "burst_wait_deferred": config.burst_wait_deferred,
        "history_index": True,
    }
    if config.mirror and config.result_retention is not None:
        from arq_django.mirror.retention import cron_job

        options["cron_jobs"] = [*options["cron_jobs"], cron_job()]
    # models load once apps are ready
    from arq_django.model_tasks.recovery import cron_jobs as task_row_recovery

    options["cron_jobs"] = [*options["cron_jobs"], *task_row_recovery(queue_name)]
    options.update(overrides)
    return options


def apply(cls: type, options: dict[str, Any]) -> type:
    """Set ``options`` as attributes of ``cls`` itself, where arq looks for them."""
    for name, value in options.items():
        setattr(cls, name, value)
    return cls


def settings_class(queue: str | None = None, **overrides: Any) -> type:
    """A fresh settings class for one queue (``manage.py arq_worker --queue``, tests)."""
    options = build(queue, **overrides)
    return apply(type("WorkerSettings", (), {"__module__": __name__}), options)


def create_worker(queue: str | None = None, **overrides: Any) -> Worker:
    """An in-process worker for ``queue`` (tests, embedding in another asyncio program)."""
    options = build(queue, **overrides)
    worker_class: type[Worker] = options.pop("worker_class")
    return worker_class(**options)
