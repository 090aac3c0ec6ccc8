"""Queue routing: which queues exist, which jobs a queue's workers register, where a job may be sent.

- ``@job(queue="mail")`` pins a job to ``mail``: only workers of ``mail`` register it (and schedule it,
  for cron jobs), and enqueueing it to any other queue is an error.
- A job without ``queue=`` runs on the default queue, and every worker registers it, so
  ``_queue_name=`` may send it to any known queue. Its cron ticks, if any, belong to the default queue.
- Known queues: ``ARQ_DJANGO['QUEUES']`` (plus the default queue) when set, else the default queue and
  every queue a job is pinned to. A worker refuses to serve an unknown queue, and enqueue refuses to
  write to one, so a typo cannot strand jobs where no worker looks.
"""

from __future__ import annotations

from arq_django.conf import get_config
from arq_django.exceptions import UnknownQueue
from arq_django.jobs.registry import JobSpec, registry


def known_queues() -> tuple[str, ...]:
    """Every queue jobs may be written to; the default queue first."""
    config = get_config()
    if config.queues_listed:
        return config.queues
    pinned = sorted({s.queue for s in registry.all() if s.queue and s.queue != config.queue})
    return (config.queue, *pinned)


def is_known(queue_name: str) -> bool:
    config = get_config()
    if queue_name in config.queues:  # the default queue always is: the enqueue hot path stops here
        return True
    return not config.queues_listed and any(s.queue == queue_name for s in registry.all())


def check_known(queue_name: str, *, job: str | None = None) -> str:
    if not is_known(queue_name):
        known = known_queues()
        what = f"job {job!r}: queue" if job else "queue"
        raise UnknownQueue(
            f"{what} {queue_name!r} is not a known queue; known queues: {', '.join(known)}. "
            "List it in ARQ_DJANGO['QUEUES'] (or route a job there with @job(queue=...))."
        )
    return queue_name


def route(spec: JobSpec, queue_name: str | None) -> str:
    """The queue a job is written to: ``queue_name`` if given and allowed, else the job's own."""
    target = spec.queue_name() if queue_name is None else queue_name
    if spec.queue is not None:
        if target != spec.queue:
            raise UnknownQueue(
                f"job {spec.name!r} is pinned to queue {spec.queue!r} by @job(queue=...), so workers of "
                f"{target!r} do not register it; drop _queue_name={target!r} or change the job's queue."
            )
        if not get_config().queues_listed:
            return target  # a pinned queue is known by definition
    return check_known(target, job=spec.name)


def serves(spec: JobSpec, queue_name: str) -> bool:
    """Whether workers of ``queue_name`` register ``spec``."""
    return spec.queue is None or spec.queue == queue_name


def jobs_for(queue_name: str) -> list[JobSpec]:
    """The jobs a worker of ``queue_name`` registers (cron jobs included)."""
    return [s for s in registry.all() if serves(s, queue_name)]


def cron_jobs_for(queue_name: str) -> list[JobSpec]:
    """The cron jobs whose ticks workers of ``queue_name`` schedule."""
    return [s for s in registry.all() if s.cron is not None and s.queue_name() == queue_name]
