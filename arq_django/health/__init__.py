"""Health: can this deployment take traffic and run jobs? Used by ``arq/health/`` and ``arq_health``.

``ARQ_DJANGO["HEALTH_CHECKS"]`` names the checks to run (all must pass); the thresholds are
``HEALTH_MIN_WORKERS``, ``HEALTH_MAX_BACKLOG`` and ``HEALTH_MAX_BACKLOG_AGE``; ``HEALTH_TIMEOUT`` is the
budget of one report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from arq_django.conf import Config, get_config
from arq_django.connection import server_for, servers
from arq_django.exceptions import CheckFailed
from arq_django.health.checks import (
    BacklogCheck,
    Check,
    DatabaseCheck,
    IngestCheck,
    RedisCheck,
    WorkersCheck,
)
from arq_django.health.runner import CheckResult, HealthReport, run_checks
from arq_django.jobs.routing import known_queues

__all__ = ["Check", "CheckFailed", "CheckResult", "HealthReport", "build_checks", "health_report"]

T = TypeVar("T", int, float)


def per_queue(thresholds: dict[str, T], queues: list[str]) -> tuple[tuple[str, T], ...]:
    """``(queue, threshold)`` for ``queues`` and any other queue named; ``"*"`` fills the unnamed."""
    default = thresholds.get("*")
    named: list[str] = [q for q in thresholds if q != "*"]
    pairs = []
    for q in dict.fromkeys([*queues, *named]):
        value = thresholds.get(q, default)
        if value is not None:
            pairs.append((q, value))
    return tuple(pairs)


def build_checks(config: Config, queue: str | None = None) -> list[Check]:
    """The configured checks for every known queue; with ``queue``, worker and backlog checks look at
    that queue only (and require one live worker there unless ``HEALTH_MIN_WORKERS`` says otherwise).

    Each Redis server gets its own ``redis``, ``workers`` and ``backlog`` checks: the default server's
    keep those names, another server's are named after its queues (``redis[mail]``), so a report shows
    which queues a server that is down holds, and ``health_report(queue)`` fails only for those."""
    timeout = config.health_timeout
    if queue is None:
        queues = list(known_queues())
        min_workers = per_queue(config.health_min_workers, queues)
    else:
        queues = [queue]
        min_workers = ((queue, config.health_min_workers.get(queue, config.health_min_workers.get("*", 1))),)
    backlog = per_queue(config.health_max_backlog, queues)
    backlog_age = per_queue(config.health_max_backlog_age, queues)
    checks: list[Check] = []
    for server, held in servers(queues, config):
        default = server == config.redis
        if not held and not (default and queue is None):
            continue  # the default server holds no queue asked about
        suffix = "" if default else f"[{','.join(held)}]"
        factories: dict[str, Callable[[], Check]] = {
            "redis": functools.partial(RedisCheck, server, timeout, name="redis" + suffix),
            "workers": functools.partial(
                WorkersCheck,
                server,
                timeout,
                tuple((q, n) for q, n in min_workers if server_for(q, config) == server),
                name="workers" + suffix,
            ),
            "backlog": functools.partial(
                BacklogCheck,
                server,
                timeout,
                tuple(held),
                tuple((q, n) for q, n in backlog if q in held),
                tuple((q, s) for q, s in backlog_age if q in held),
                name="backlog" + suffix,
            ),
        }
        checks += [factories[name]() for name in config.health_checks if name != "database"]
    if "database" in config.health_checks:
        checks.insert(config.health_checks.index("database"), DatabaseCheck())
    if config.list_sources and queue is None:
        checks.append(IngestCheck(config.redis, timeout, config.list_sources))
    return checks


def health_report(queue: str | None = None) -> HealthReport:
    """Run the configured checks within ``HEALTH_TIMEOUT``; never raises for a failing dependency."""
    config = get_config()
    return run_checks(build_checks(config, queue), config.health_timeout)
