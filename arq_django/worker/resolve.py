"""Functions a worker was not started with: a registry resolver may know the name (a Django task,
imported by its ``module_path`` on first use, :mod:`arq_django.tasks.resolve`)."""

from __future__ import annotations

import logging

from arq.cron import CronJob
from arq.worker import Function

from arq_django.jobs.handlers import to_function
from arq_django.jobs.registry import registry
from arq_django.worker.outcome import describe
from arq_django.worker.threads import SyncThreads

logger = logging.getLogger("arq.worker")


def resolve_function(
    functions: dict[str, Function | CronJob],
    name: str,
    job_timeout_s: float,
    threads: SyncThreads | None = None,
) -> Function | None:
    """The arq function for ``name``, added to ``functions``; ``None`` when no resolver knows it. Raises
    the reason a name that a resolver claims cannot be loaded (the job is then failed with it)."""
    try:
        spec = registry.resolve(name)
    except Exception as e:
        logger.warning("function %r cannot be loaded: %s", name, describe(e))
        raise
    if spec is None:
        return None
    function = to_function(spec, job_timeout_s, threads)
    functions[name] = function
    return function
